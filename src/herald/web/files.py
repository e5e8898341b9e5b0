"""Customer files through the web: reading an import form, and sending downloads."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from herald.errors import InvalidInput
from herald.services.contact_import import load_mapping
from herald.services.guard import authorize
from herald.web.deps import RefPath, Seen
from herald.web.security import Caller, check_csrf, herald_of, require_caller

UPLOAD_LIMIT = 200 * 1024 * 1024  # a 1,000,000-row engineering list is about 40 MB
MEDIA = {".csv": "text/csv; charset=utf-8",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


async def uploading_incident(
    request: Request, ref: RefPath, caller: Annotated[Caller, Depends(require_caller)]
) -> Seen:
    """Like Acting, with the size limit checked before the upload is read: 404 when hidden,
    422 when too large, 403 on a bad CSRF token or for an account that may not act."""
    h = herald_of(request)
    access = authorize(h, ref, caller.account.viewer)
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > UPLOAD_LIMIT:
        raise InvalidInput(f"the upload is larger than {UPLOAD_LIMIT // 2**20} MB; split the "
                           "file or use `herald contacts import`")
    await check_csrf(request)
    access.require_act()
    return Seen(h, caller, ref, access)


Uploading = Annotated[Seen, Depends(uploading_incident)]


@dataclass
class ImportForm:
    """What an import form (or API call) sent."""

    filename: str
    data: bytes
    source: str
    mapping: dict[str, str] | None
    dry_run: bool


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


async def read_import_form(request: Request) -> ImportForm:
    """The multipart form: `file`, `source`, optional `mapping` file and `dry_run`."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput("file: choose the CSV or XLSX file to import")
    data = await upload.read()
    if len(data) > UPLOAD_LIMIT:
        raise InvalidInput(f"{upload.filename}: larger than {UPLOAD_LIMIT // 2**20} MB")
    mapping = None
    given = form.get("mapping")
    if isinstance(given, UploadFile) and given.filename:
        raw = await given.read()
        if raw.strip():
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / _name(given.filename, "mapping.json")
                path.write_bytes(raw)
                mapping = load_mapping(path)
    return ImportForm(filename=_name(upload.filename, "upload.csv"), data=data,
                      source=_text(form, "source"), mapping=mapping,
                      dry_run=_text(form, "dry_run").lower() in {"1", "true", "yes", "on"})


def _name(filename: str, default: str) -> str:
    """A file's own name, never a path (the report and audit log quote it)."""
    name = Path(filename.replace("\\", "/")).name.strip()[:200]
    return name or default


def download(write: Callable[[Path], object], filename: str) -> FileResponse:
    """Write a file with `write(path)` and send it as an attachment, deleted once sent."""
    suffix = Path(filename).suffix
    fd, name = tempfile.mkstemp(prefix="herald-", suffix=suffix)
    os.close(fd)
    path = Path(name)
    try:
        write(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(path, filename=filename, media_type=MEDIA.get(suffix),
                        background=BackgroundTask(path.unlink, missing_ok=True))
