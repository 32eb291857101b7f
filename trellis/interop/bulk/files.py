"""Where an export's files live: `VAR_DIR/exports/<job id>/<Type>.ndjson`, the folder the
owner's only (trellis.core.files). A file is written under a hidden `.part` name and
renamed when whole, so a file with its final name is always complete."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings

SUFFIX = ".ndjson"
PART_SUFFIX = ".ndjson.part"
_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z]{0,63}$")


def exports_root() -> Path:
    return Path(settings.VAR_DIR) / "exports"


def job_dir(job_id: Any) -> Path:
    return exports_root() / str(job_id)


def file_name(resource_type: str) -> str:
    return resource_type + SUFFIX


def part_name(resource_type: str) -> str:
    return f".{resource_type}{PART_SUFFIX}"


def file_path(job_id: Any, resource_type: str) -> Path | None:
    """The finished file of one type, or None for a name that is not a resource type."""
    if not _TYPE_NAME.match(resource_type):
        return None
    return job_dir(job_id) / file_name(resource_type)


def remove(job_id: Any) -> bool:
    """Remove every file of a job, finished or partial; whether there was a folder."""
    directory = job_dir(job_id)
    if not directory.exists():
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return True
