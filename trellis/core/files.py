"""Files and folders Trellis creates that hold patient data: its owner's only.

The SQLite database (with its -wal and -shm files), the folder it lives in, and every export
Trellis writes to disk are created readable and writable by the account that runs Trellis
and nobody else (files 0600, folders 0700), whatever the process's umask allows. Trellis
does not loosen or tighten files it did not create, except an export file it overwrites.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import IO, Any

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Make a folder only its owner may open (0700) when it does not exist yet; missing
    parents are made as the umask says. An existing folder keeps its mode."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open a file for writing, created (or emptied) with mode 0600.

    A file left by an earlier run keeps its mode when it is emptied, so it is set again.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def _is_sqlite_file(database: object) -> bool:
    name = os.fspath(database) if isinstance(database, str | os.PathLike) else ""
    return bool(name) and name != ":memory:" and not str(name).startswith("file:")


class PrivateSQLiteConnection(sqlite3.Connection):
    """A SQLite connection that creates a missing database file with mode 0600 first.

    SQLite gives the -wal and -shm files it makes later the database file's mode, so
    they are the owner's only too. In-memory and URI databases are opened as they are.
    Used through the database OPTIONS (`"factory"`), so every way in (`trellis migrate`,
    `trellis demo`, the server, the worker) creates the file the same way.
    """

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        if _is_sqlite_file(database):
            try:
                fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            except OSError:
                pass  # it exists already, or SQLite will say why it cannot be opened
            else:
                os.close(fd)
        super().__init__(database, *args, **kwargs)
