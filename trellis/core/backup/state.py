"""What a restore needs that lives outside the database, and how each file comes back.

- The audit anchor file (TRELLIS_AUDIT_ANCHOR_FILE): signed anchors of the chain's head
  that `trellis audit verify` checks the trail against.
- State Trellis keeps under TRELLIS_VAR_DIR: the development web-push key pair (devices
  subscribed with its public half) and the demo EHR's key pair and client id (registered
  in the database).

Everything else under VAR_DIR is left out on purpose and named in the backup's output:
the database file itself (in the archive as the database member), collected static files
(`trellis collectstatic` makes them again), bulk export files (made again on request and
removed after a day), and the demo's written mail and texts. Keys that encrypt or seal
(TRELLIS_DATA_KEYS, TRELLIS_AUDIT_KEYS) live in the environment, never in a file here.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from trellis.core.backup.archive import BackupError, sha256_of
from trellis.core.files import private_dir

ANCHORS = "audit_anchors"
VAR = "var"
STATE = ("vapid-development.json", "demo-ehr")
LEFT_OUT = {
    "static": "collected static files",
    "exports": "bulk export files",
    "outbox": "the demo's written mail and texts",
}


@dataclass(frozen=True)
class StateFile:
    role: str  # ANCHORS or VAR
    relative: str  # under VAR_DIR for VAR; the file's name for ANCHORS
    source: Path

    @property
    def member(self) -> str:
        return f"files/{self.role}/{self.relative}"

    def describe(self) -> dict[str, str]:
        return {"role": self.role, "path": self.relative, "member": self.member}


def collect(
    var_dir: Path, anchor_file: Path, database_file: Path | None
) -> tuple[list[StateFile], list[str]]:
    """The files to back up, and a line for each thing under VAR_DIR left out."""
    files: list[StateFile] = []
    if anchor_file.is_file():
        files.append(StateFile(ANCHORS, anchor_file.name, anchor_file))
    for name in STATE:
        path = var_dir / name
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for p in found:
            if p.is_file():
                files.append(StateFile(VAR, p.relative_to(var_dir).as_posix(), p))
    left_out: list[str] = []
    anchor = anchor_file.resolve()
    database = database_file.resolve() if database_file is not None else None
    if var_dir.is_dir():
        for entry in sorted(var_dir.iterdir()):
            resolved = entry.resolve()
            if entry.name in STATE or resolved == anchor:
                continue
            if (
                database
                and resolved.parent == database.parent
                and entry.name.startswith(database.name)
            ):
                continue  # the database and its -wal and -shm files: the dump holds it
            reason = LEFT_OUT.get(entry.name, "not state Trellis knows a restore needs")
            left_out.append(f"{entry.name}: {reason}")
    return files, left_out


@dataclass(frozen=True)
class Placement:
    """One file a restore writes, and what is at its place now."""

    target: Path
    extracted: Path
    action: str  # "write", "same", "keep-newer", "replace"

    def describe(self) -> str:
        return {
            "write": f"write {self.target}",
            "same": f"leave {self.target} (already the same)",
            "keep-newer": f"keep {self.target}: it holds the backup's anchors and later ones",
            "replace": f"replace {self.target} (the file there now is kept beside it, "
            f"as {self.target.name}.before-restore)",
        }[self.action]


def _relative(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise BackupError(f"the manifest names a file outside Trellis's folder: {path!r}")
    return rel


def plan(
    files: list[dict[str, Any]], paths: dict[str, Path], var_dir: Path, anchor_file: Path
) -> list[Placement]:
    placements: list[Placement] = []
    for entry in files:
        extracted = paths.get(entry.get("member", ""))
        if extracted is None:
            raise BackupError(
                f"the manifest lists a file {entry.get('member')!r} the archive lacks"
            )
        if entry.get("role") == ANCHORS:
            target = anchor_file
        elif entry.get("role") == VAR:
            target = var_dir.joinpath(*_relative(str(entry.get("path", ""))).parts)
        else:
            raise BackupError(
                f"the manifest names a file of an unknown kind: {entry.get('role')!r}"
            )
        placements.append(
            Placement(target, extracted, _action(target, extracted, entry.get("role")))
        )
    return placements


def _action(target: Path, extracted: Path, role: Any) -> str:
    if not target.exists() or (target.is_file() and target.stat().st_size == 0):
        return "write"
    if target.is_file() and sha256_of(target) == sha256_of(extracted):
        return "same"
    if role == ANCHORS and target.is_file() and _starts_with(target, extracted):
        return "keep-newer"
    return "replace"


def _starts_with(path: Path, prefix: Path) -> bool:
    size = prefix.stat().st_size
    if path.stat().st_size < size:
        return False
    with path.open("rb") as a, prefix.open("rb") as b:
        return a.read(size) == b.read()


def apply(placements: list[Placement]) -> None:
    for p in placements:
        if p.action in ("same", "keep-newer"):
            continue
        private_dir(p.target.parent)
        if p.action == "replace":
            os.replace(p.target, p.target.with_name(p.target.name + ".before-restore"))
        partial = p.target.with_name(p.target.name + ".restoring")
        shutil.copyfile(p.extracted, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, p.target)
