"""The de-identified research export: the pure de-identification (`deidentify`), the
files (`files`), and reading the clinic's data and the audited action (`export`)."""
