"""English dates as Trellis writes them: day, month, year."""

DATE_FORMAT = "j F Y"
MONTH_DAY_FORMAT = "j F"
