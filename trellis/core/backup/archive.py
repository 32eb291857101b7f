"""The backup file: one tar archive, its manifest first, every member checksummed.

    manifest.json           what the backup is (see `Manifest`), with the SHA-256 and size
                            of every other member
    database.pgdump         PostgreSQL: pg_dump's custom format
    database.sqlite3        SQLite: a consistent copy of the database file
    files/...               what a restore needs that lives outside the database

Reading checks everything before anything is restored: the manifest comes first, every
member is one the manifest lists, each one's bytes match its SHA-256, and none is missing.
A damaged, truncated or foreign file is refused with the reason. Members are extracted to
names of our own, never to a path taken from the archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from trellis.core.files import open_private

FORMAT = "trellis-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
CHUNK = 1024 * 1024


class BackupError(Exception):
    """Why a backup could not be made or restored, in words for the operator."""


@dataclass(frozen=True)
class Extracted:
    """An archive whose checksums all matched: its manifest and where each member lies."""

    manifest: dict[str, Any]
    paths: dict[str, Path]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o600
    return info


def write_archive(
    out: Path, manifest: dict[str, Any], members: Iterable[tuple[str, Path]], *, mtime: float
) -> None:
    """Write the archive to `out` (mode 0600): the manifest, with every member's checksum
    added under "members", then the members. Written beside `out` and renamed into place,
    so a half-written file never carries the final name."""
    members = list(members)
    manifest = dict(manifest)
    manifest["members"] = {
        name: {"sha256": sha256_of(path), "size": path.stat().st_size} for name, path in members
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    partial = out.with_name(out.name + ".partial")
    try:
        with open_private(partial, "wb") as raw, tarfile.open(fileobj=raw, mode="w:") as tar:
            tar.addfile(_info(MANIFEST, len(body), mtime), io.BytesIO(body))
            for name, path in members:
                with path.open("rb") as f:
                    tar.addfile(_info(name, path.stat().st_size, mtime), f)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise BackupError("its manifest is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("its manifest does not describe a Trellis backup")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(
            f"it is in backup format {version!r}, newer than this Trellis reads "
            f"({FORMAT_VERSION}); restore it with the Trellis version that made it "
            f"({manifest.get('trellis_version', 'unknown')})"
        )
    members = manifest.get("members")
    if not isinstance(members, dict) or not all(
        isinstance(m, dict) and isinstance(m.get("sha256"), str) and isinstance(m.get("size"), int)
        for m in members.values()
    ):
        raise BackupError("its manifest lists no checksums for its members")
    return manifest


def _copy_hashing(source: IO[bytes], dest: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open_private(dest, "wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def read_archive(path: Path, into: Path) -> Extracted:
    """Extract and check every member into the folder `into`; raise BackupError naming what
    is wrong with the archive, before anything outside `into` has been touched."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    paths: dict[str, Path] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(
                    f"{path} is not a Trellis backup: it does not begin with its manifest"
                )
            if first.size > MAX_MANIFEST_BYTES:
                raise BackupError(f"{path} is not a Trellis backup: its manifest is too large")
            source = tar.extractfile(first)
            assert source is not None  # a regular file, checked above
            manifest = _parse_manifest(source.read())
            expected: dict[str, dict[str, Any]] = manifest["members"]
            while (info := tar.next()) is not None:
                if info.name not in expected or info.name in paths or not info.isfile():
                    raise BackupError(
                        f"the archive holds {info.name!r}, which its manifest does not list"
                    )
                member = tar.extractfile(info)
                assert member is not None
                local = into / f"member-{len(paths)}"
                digest, size = _copy_hashing(member, local)
                want = expected[info.name]
                if size != want["size"] or digest != want["sha256"]:
                    raise BackupError(
                        f"{info.name} does not match its checksum: the archive is damaged"
                    )
                paths[info.name] = local
    except (tarfile.TarError, EOFError) as e:
        raise BackupError(f"{path} is damaged or truncated ({e})") from None
    missing = sorted(set(expected) - set(paths))
    if missing:
        raise BackupError(
            f"the archive lacks {', '.join(missing)}, which its manifest lists: it is truncated"
        )
    return Extracted(manifest=manifest, paths=paths)
