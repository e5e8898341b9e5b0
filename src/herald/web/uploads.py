"""Uploads kept between the import preview and its confirmation, under HERALD_HOME/uploads."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from herald.errors import Forbidden, NotFound
from herald.services.contact_import import ImportReport
from herald.services.context import Herald

KEEP_SECONDS = 24 * 3600  # an upload never confirmed is removed after a day
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
GONE = "this upload is gone (imported, cancelled or older than a day); upload the file again"


@dataclass
class Upload:
    """A file uploaded for preview, waiting for its owner to confirm the import."""

    token: str
    owner: str
    incident_id: int
    source: str
    filename: str
    mapping: dict[str, str] | None


def _folder(h: Herald) -> Path:
    folder = Path(h.settings.home) / "uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def keep(h: Herald, data: bytes, upload: Upload, report: ImportReport) -> Upload:
    """Store the bytes under a new random token, with the dry-run report, until confirmed."""
    folder = _folder(h)
    _sweep(folder)
    upload.token, upload.owner = secrets.token_urlsafe(32), upload.owner.lower()
    _write(folder / upload.token, data)
    _write(folder / f"{upload.token}.report.json", report.model_dump_json().encode())
    _write(folder / f"{upload.token}.json", json.dumps(asdict(upload)).encode())
    return upload


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _sweep(folder: Path) -> None:
    """Remove uploads older than KEEP_SECONDS (previews nobody confirmed)."""
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            continue  # another request swept it


def find(h: Herald, token: str, *, owner: str, incident_id: int) -> Upload:
    """The caller's own upload for this incident; another person's token is refused."""
    meta = _folder(h) / f"{token}.json"
    if not _TOKEN.fullmatch(token) or not meta.exists():
        raise NotFound(GONE)
    upload = Upload(**json.loads(meta.read_text()))
    if upload.owner != owner.lower():
        raise Forbidden("this upload is someone else's; upload the file yourself")
    if upload.incident_id != incident_id:
        raise NotFound("this upload belongs to another incident")
    return upload


def report_of(h: Herald, upload: Upload) -> ImportReport:
    """The dry-run report made when the file was uploaded."""
    path = _folder(h) / f"{upload.token}.report.json"
    return ImportReport.model_validate_json(path.read_bytes())


@contextmanager
def claimed(h: Herald, upload: Upload) -> Iterator[bytes]:
    """The uploaded bytes, taken by one confirmation only (a second click finds it gone).

    The upload is deleted when the block succeeds and put back when it fails."""
    folder = _folder(h)
    claim = folder / f"{upload.token}.claimed"
    try:
        (folder / upload.token).rename(claim)
    except FileNotFoundError:
        raise NotFound(GONE) from None
    try:
        yield claim.read_bytes()
    except BaseException:
        claim.rename(folder / upload.token)
        raise
    claim.unlink(missing_ok=True)
    discard(h, upload)


def discard(h: Herald, upload: Upload) -> None:
    """Delete the upload, its report and its record."""
    folder = _folder(h)
    for name in (upload.token, f"{upload.token}.report.json", f"{upload.token}.json"):
        (folder / name).unlink(missing_ok=True)
