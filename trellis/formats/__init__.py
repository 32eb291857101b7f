"""Trellis's own date formats, by language (settings.FORMAT_MODULE_PATH).

Only what differs from Django's: English writes the day before the month ("5 December
2026", as Trellis always has); Finnish writes a day and month with the genitive month
("5. joulukuuta"). Everything else is Django's format for the language.
"""
