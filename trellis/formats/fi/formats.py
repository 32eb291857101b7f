"""Finnish day and month with the genitive month name ("5. joulukuuta")."""

MONTH_DAY_FORMAT = "j. E"
