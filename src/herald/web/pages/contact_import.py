"""Importing a customer file from the page: upload, see the full dry-run report, confirm."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from herald.exports import safe_cell
from herald.services import views
from herald.services.contact_import import ImportReport, import_file
from herald.web import uploads
from herald.web.deps import Acting, Seen, Viewing
from herald.web.files import ImportForm, Uploading, read_import_form
from herald.web.pages.common import incident_page
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
LISTED = 1000  # lines per section shown on the page; the report CSV has every line


def _report_page(request: Request, seen: Seen, report: ImportReport, *, done: bool,
                 token: str | None = None) -> Response:
    d = views.incident_detail(seen.h, seen.ref, viewer=seen.caller.account.viewer)
    return incident_page(request, seen, d, "contact_import.html", "contacts", report=report,
                         done=done, token=token, listed=LISTED)


def _upload(seen: Seen, token: str) -> uploads.Upload:
    d = views.incident_detail(seen.h, seen.ref, viewer=seen.caller.account.viewer)
    return uploads.find(seen.h, token, owner=seen.actor, incident_id=d.id)


@router.post("/incidents/{ref}/contacts/import")
async def preview(request: Request, seen: Uploading) -> Response:
    """Read the file and show what importing it would do; nothing is written yet."""
    form = await read_import_form(request)
    return await run_in_threadpool(_preview, request, seen, form)


def _preview(request: Request, seen: Seen, form: ImportForm) -> Response:
    report = import_file(seen.h, seen.ref, Path(form.filename), source=form.source,
                         actor=seen.actor, mapping=form.mapping, dry_run=True, data=form.data)
    d = views.incident_detail(seen.h, seen.ref, viewer=seen.caller.account.viewer)
    kept = uploads.keep(seen.h, form.data, uploads.Upload(
        token="", owner=seen.actor, incident_id=d.id, source=form.source,
        filename=form.filename, mapping=form.mapping), report)
    return _report_page(request, seen, report, done=False, token=kept.token)


@router.post("/incidents/{ref}/contacts/import/{token}")
def confirm(request: Request, seen: Acting, token: str) -> Response:
    """Import the previewed file for real; the upload is deleted afterwards."""
    upload = _upload(seen, token)
    with uploads.claimed(seen.h, upload) as data:
        report = import_file(seen.h, seen.ref, Path(upload.filename), source=upload.source,
                             actor=seen.actor, mapping=upload.mapping, data=data)
    return _report_page(request, seen, report, done=True)


@router.post("/incidents/{ref}/contacts/import/{token}/cancel")
def cancel(request: Request, seen: Acting, token: str) -> Response:
    """Drop a previewed upload without importing it."""
    upload = _upload(seen, token)
    uploads.discard(seen.h, upload)
    return redirect(request, f"/incidents/{seen.ref}/contacts",
                    message=f"Not imported: {upload.filename}.")


@router.get("/incidents/{ref}/contacts/import/{token}/report.csv")
def report_csv(seen: Viewing, token: str) -> Response:
    """Every line of a previewed upload's report, as CSV (the page lists the first ones)."""
    report = uploads.report_of(seen.h, _upload(seen, token))
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["line", "fate", "reason", "value"])
    entries = ([(r.line, "rejected", r.reason, r.value) for r in report.rejected]
               + [(r.line, "ignored", r.reason, r.value) for r in report.ignored]
               + [(r.line, "merged", r.reason, r.value) for r in report.merged_lines])
    writer.writerows((line, fate, safe_cell(reason), safe_cell(value))
                     for line, fate, reason, value in sorted(entries))
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="import-report.csv"'})
