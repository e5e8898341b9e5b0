"""`herald plan export`: the plan as Markdown, HTML, PDF and DOCX, and each one opens."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from herald.clock import FixedClock
from herald.services import contact_import, drafts, incidents, plan
from herald.services.context import Herald
from herald.services.plan_export import export_plan
from herald.settings import Settings
from tests.helpers import (
    FACTS,
    LEAD,
    MESSENGER,
    fill_facts,
    new_incident,
    ok_cli,
    run_cli,
    staff,
    walk,
)

SCRIPT = "<script>alert(1)</script>"
TITLE = f"Search results missing {SCRIPT}"
CHANNEL = "https://chat.example.com/archives/C042"
SECTIONS = ["Header", "Gathered information", "Impacted customers", "Draft communications",
            "Timeline", "Retro notes"]


@pytest.fixture
def cli(cli_env: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The in-process CLI on the same database as `h`."""
    from herald.cli import common
    from herald.services.context import open_herald

    monkeypatch.setattr(common, "open_herald",
                        lambda settings: open_herald(settings, clock=clock))
    common.herald.cache_clear()
    yield
    if common.herald.cache_info().currsize:
        common.herald().db.dispose()
    common.herald.cache_clear()


def a_plan(h: Herald, *, security: bool = False) -> str:
    """A plan with hostile text in every place a user can type: title, fact, names, notes."""
    ref = new_incident(h, title=TITLE, number="inc-42", security=security)
    staff(h, ref, "buddy", "incident_lead")
    incidents.add_link(h, ref, "channel", CHANNEL, actor=MESSENGER)
    fill_facts(h, ref)
    plan.set_fact(h, ref, "how_to_determine", f"search for {SCRIPT} in a new repository",
                  actor=MESSENGER, provided_by=LEAD)
    plan.add_retro_note(h, ref, f"Names like {SCRIPT} broke nothing", actor=MESSENGER)
    out = io.StringIO()
    csv.writer(out).writerows([
        ["Account Name", "Account ID", "Deployment Type", "Contact Name", "Email",
         "Incident Contact", "CE Name", "CE Email", "Impacted"],
        # no AE: the account's name shows in the list's problems
        [SCRIPT, "0015g000001", "cloud", "Dana", "dana@good.example", "yes", "Carla CE",
         "carla@vendor.example", "yes"],
        ["Evil Corp\r\nBcc: evil@example.com", "0015g000002", "self-hosted", SCRIPT,
         "ev@evil.example", "yes", "Carla CE", "carla@vendor.example", "yes"],
    ])
    contact_import.import_file(h, ref, Path("crm.csv"), source="crm", actor=MESSENGER,
                               data=out.getvalue().encode("utf-8"))
    d = drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER)
    drafts.save_draft(h, ref, "email_impact_known", body=d.body + f"\n\nP.S. {SCRIPT}",
                      subject=d.subject, base_version=1, actor=MESSENGER)
    drafts.new_draft(h, ref, "status_resolved_only", actor=MESSENGER)
    walk(h, ref, 1, 2)
    return ref


# --- HTML and Markdown ---------------------------------------------------------------------


def test_the_html_export_escapes_every_user_value(h: Herald, tmp_path: Path) -> None:
    ref = a_plan(h)
    html = export_plan(h, ref, "html", tmp_path / "plan.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<h1>inc-42 · Search results missing {escaped}</h1>" in html
    assert f"search for {escaped} in a new repository" in html  # a fact
    assert f"{escaped} (0015g000001): no AE" in html  # an account name in the list problems
    assert f"P.S. {escaped}" in html  # a draft
    assert f"Names like {escaped} broke nothing" in html  # a retro note
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in html
    assert "<h3>Email: we know the customer is impacted (v2)</h3>" in html
    assert "<h3>Status page: resolved-only post (v1)</h3>" in html
    assert "<strong>Subject:</strong> {{ customer_name }}: an issue in our 5.2.0 release" in html
    assert "<td>What it causes</td><td>" + FACTS["causes"] + "</td>" in html
    assert "Communication plan exported 2026-01-01 09:00 UTC" in html
    assert "Security incident" not in html


def test_the_markdown_export_has_every_section(h: Herald, tmp_path: Path) -> None:
    ref = a_plan(h, security=True)
    md = export_plan(h, ref, "md", tmp_path / "plan.md").read_text(encoding="utf-8")
    assert md.startswith(f"# inc-42 · {TITLE}\n\n_Communication plan exported 2026-01-01 "
                         "09:00 UTC_\n\n**Security incident: need-to-know. Do not forward.**")
    headings = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS
    assert f"| What it causes | {FACTS['causes']} | {LEAD} |" in md
    assert "| Cloud share impacted | ____ |  |" in md  # a blank of the plan stays visible
    assert "- Channel: " + CHANNEL in md
    assert "### Email: we know the customer is impacted (v2)" in md
    assert "```text\nHello {{ contact_name }}," in md
    assert "Full list: http://localhost:8400/incidents/inc-42/contacts" in md
    assert "| Messenger claimed the incident |" in md


# --- PDF and DOCX --------------------------------------------------------------------------


def test_the_pdf_renders_to_pages(h: Herald, tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm is missing: install Debian's poppler-utils")
    ref = a_plan(h)
    pdf = export_plan(h, ref, "pdf", tmp_path / "plan.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run([pdftoppm, "-png", "-r", "40", str(pdf), str(tmp_path / "page")],
                   check=True, capture_output=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages, "pdftoppm rendered no page"
    for page in pages:
        assert page.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert page.stat().st_size > 1000  # something drawn, not an empty file
    text = subprocess.run([shutil.which("pdftotext") or "pdftotext", str(pdf), "-"],
                          check=True, capture_output=True, text=True, timeout=120).stdout
    assert SCRIPT in text  # shown as text, never run
    assert "Gathered information" in text and "Retro notes" in text


def test_the_docx_loads_back_with_the_title_and_the_facts(h: Herald, tmp_path: Path) -> None:
    from docx import Document

    ref = a_plan(h)
    path = export_plan(h, ref, "docx", tmp_path / "plan.docx")
    doc = Document(str(path))
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == f"inc-42 · {TITLE}"
    assert "Communication plan exported 2026-01-01 09:00 UTC" in paragraphs
    for section in SECTIONS:
        assert section in paragraphs
    assert "Email: we know the customer is impacted (v2)" in paragraphs
    cells = {cell.text for table in doc.tables for row in table.rows for cell in row.cells}
    assert FACTS["causes"] in cells
    assert FACTS["remediation"] in cells
    assert CHANNEL in cells
    assert any(p.endswith(f"P.S. {SCRIPT}") for p in paragraphs)


# --- the command ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html", "pdf", "docx"])
def test_plan_export_writes_each_format(cli: None, h: Herald, tmp_path: Path, fmt: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ref = a_plan(h)
    target = tmp_path / f"plan.{fmt}"
    out = ok_cli(capsys, "plan", "export", ref, "--format", fmt.upper(), "-o", str(target)).out
    assert out == f"wrote {target}\n"
    data = target.read_bytes()
    magic = {"md": b"# inc-42", "html": b"<!doctype html>", "pdf": b"%PDF-", "docx": b"PK"}
    assert data.startswith(magic[fmt])


def test_plan_export_refuses_a_bad_format_or_folder(cli: None, h: Herald, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ref = new_incident(h)
    bad = run_cli(capsys, "plan", "export", ref, "--format", "odt", "-o", str(tmp_path / "x"))
    assert (bad.code, bad.err) == (1, "error: format must be one of: md, html, pdf, docx\n")
    nowhere = tmp_path / "missing" / "plan.md"
    gone = run_cli(capsys, "plan", "export", ref, "-o", str(nowhere))
    assert (gone.code, gone.err) == (
        1, f"error: cannot write {nowhere}: give a file in an existing folder\n")
    assert not nowhere.parent.exists()
