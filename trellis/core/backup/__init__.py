"""Backups that restore: the database and the files outside it in one checked archive,
never the keys (`trellis backup`, `trellis restore`; docs/operations.md#backups).

archive.py is the file format and its checks, database.py the dump and restore of each
database, state.py the files outside the database, keys.py which keys a backup needs, and
operations.py the two jobs.
"""
