"""The whole communication plan as a document: Markdown, HTML, PDF or DOCX."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from herald.domain.access import Viewer
from herald.errors import InvalidInput, NotFound
from herald.services import drafts as draft_svc
from herald.services import views
from herald.services.contacts import ListStatus, list_status
from herald.services.context import Herald
from herald.timeparse import fmt

FORMATS = ("md", "html", "pdf", "docx")
_DOCS = Path(__file__).parent.parent / "templates" / "documents"


@dataclass
class PlanDocument:
    """Everything the exported plan shows, gathered once for every format."""

    d: views.IncidentDetail
    facts: list[views.FactView]
    retro: list[views.RetroView]
    timeline: list[views.TimelineRow]
    drafts: list[draft_svc.DraftView]
    contacts: ListStatus | None
    list_link: str
    exported_at: str
    # Sections later features fill (reviews, FAQ, post-mortem requests, wrap-up).
    extra_sections: list[tuple[str, list[str]]] = field(default_factory=list)


# Other features register a section here: (title, function returning lines for an incident,
# or None to leave the section out of this incident's plan).
SECTIONS: list[tuple[str, Callable[[Herald, str], list[str] | None]]] = []


def gather(h: Herald, ref: str, *, viewer: Viewer | None = None) -> PlanDocument:
    """Collect the plan's parts (need-to-know applies)."""
    p = views.plan(h, ref, viewer=viewer)
    found = []
    for row in draft_svc.list_drafts(h, ref, viewer=viewer):
        try:
            found.append(draft_svc.get_draft(h, ref, row["kind"], viewer=viewer))
        except NotFound:
            continue
    base = (h.settings.base_url or f"http://localhost:{h.settings.port}").rstrip("/")
    return PlanDocument(
        d=p.incident, facts=p.facts, retro=p.retro,
        timeline=views.timeline(h, ref, viewer=viewer), drafts=found,
        contacts=list_status(h, ref, viewer=viewer),
        list_link=f"{base}/incidents/{p.incident.ref}/contacts",
        exported_at=fmt(h.clock.now()),
        extra_sections=[(title, rows) for title, lines in SECTIONS
                        if (rows := lines(h, ref)) is not None])


def to_html(doc: PlanDocument) -> str:
    """The plan as a standalone HTML page (every value escaped)."""
    env = Environment(loader=FileSystemLoader(_DOCS), autoescape=select_autoescape(["html"]))
    env.filters["utc"] = fmt
    return env.get_template("plan.html").render(**doc.__dict__)


def to_markdown(doc: PlanDocument) -> str:
    """The plan as Markdown, for wikis and drives."""
    d = doc.d
    out = [f"# {d.ref} · {d.title}", "", f"_Communication plan exported {doc.exported_at}_", ""]
    if d.security:
        out += ["**Security incident: need-to-know. Do not forward.**", ""]
    out += ["## Header", "", f"- Severity: {d.severity or 'not set'}", f"- Status: {d.status}"]
    out += [f"- {_cap(r.label)}: {r.name} <{r.email}>" for r in d.roles]
    out += [f"- {_cap(li.kind)}: {li.url}" for li in d.links]
    if d.deadline and d.deadline.due_at:
        out.append(f"- Disclosure due: {fmt(d.deadline.due_at)}")
    out += ["", "## Gathered information", "", "| Fact | Value | Provided by |", "|---|---|---|"]
    out += [f"| {f.label} | {_md(f.value or '____')} | {f.provided_by or ''} |"
            for f in doc.facts]
    out += ["", "## Impacted customers", ""]
    if doc.contacts:
        c = doc.contacts
        out.append(f"{'Ready' if c.ready else 'Not ready'}: {c.accounts['yes']} impacted, "
                   f"{c.accounts['no']} not impacted, {c.accounts['unknown']} unmarked; "
                   f"{c.recipients} recipient(s). Full list: {doc.list_link}")
        out += [f"- {p}" for p in c.problems]
    out += ["", "## Draft communications", ""]
    for dr in doc.drafts:
        out += [f"### {dr.title} (v{dr.version})", ""]
        if dr.subject:
            out += [f"Subject: {dr.subject}", ""]
        out += ["```text", dr.body, "```", ""]
    out += ["## Timeline", "", "| Event | Planned | Completed | Link |", "|---|---|---|---|"]
    for t in doc.timeline:
        done = "n/a" + (f" ({t.na_reason})" if t.na_reason else "") if t.na else fmt(t.completed_at)
        out.append(f"| {t.title} | {'n/a' if t.na else fmt(t.planned_at)} | {_md(done)} | "
                   f"{t.link or ''} |")
    for title, rows in doc.extra_sections:
        out += ["", f"## {title}", ""] + ([f"- {_md(r)}" for r in rows] or ["None yet."])
    out += ["", "## Retro notes", ""] + ([f"- {_md(n.text)} ({n.by})" for n in doc.retro]
                                        or ["None yet."])
    return "\n".join(out) + "\n"


def _cap(text: str) -> str:
    """First letter up, the rest as written ('CS leader' stays 'CS leader')."""
    return text[:1].upper() + text[1:]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_docx(doc: PlanDocument, path: Path) -> None:
    """The plan as a Word document."""
    from docx import Document

    d = doc.d
    word: Any = Document()
    word.add_heading(f"{d.ref} · {d.title}", level=0)
    word.add_paragraph(f"Communication plan exported {doc.exported_at}")
    if d.security:
        word.add_paragraph("Security incident: need-to-know. Do not forward.")
    word.add_heading("Header", level=1)
    rows = [("Severity", d.severity or "not set"), ("Status", d.status)]
    rows += [(_cap(r.label), f"{r.name} <{r.email}>") for r in d.roles]
    rows += [(_cap(li.kind), li.url) for li in d.links]
    _table(word, ["Field", "Value"], rows)
    word.add_heading("Gathered information", level=1)
    _table(word, ["Fact", "Value", "Provided by"],
           [(f.label, f.value or "____", f.provided_by or "") for f in doc.facts])
    word.add_heading("Impacted customers", level=1)
    if doc.contacts:
        c = doc.contacts
        word.add_paragraph(f"{'Ready' if c.ready else 'Not ready'}: {c.accounts['yes']} "
                           f"impacted; {c.recipients} recipient(s). Full list: {doc.list_link}")
    word.add_heading("Draft communications", level=1)
    for dr in doc.drafts:
        word.add_heading(f"{dr.title} (v{dr.version})", level=2)
        if dr.subject:
            word.add_paragraph(f"Subject: {dr.subject}")
        word.add_paragraph(dr.body)
    word.add_heading("Timeline", level=1)
    _table(word, ["Event", "Planned", "Completed", "Link"],
           [(t.title, "n/a" if t.na else fmt(t.planned_at),
             "n/a" if t.na else fmt(t.completed_at), t.link or "") for t in doc.timeline])
    for title, lines in doc.extra_sections:
        word.add_heading(title, level=1)
        for line in lines or ["None yet."]:
            word.add_paragraph(line)
    word.add_heading("Retro notes", level=1)
    for n in doc.retro or []:
        word.add_paragraph(f"{n.text} ({n.by})")
    word.save(str(path))


def _table(word: Any, head: list[str], rows: Sequence[tuple[str, ...]]) -> None:
    table = word.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        cell.text = text
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text


def export_plan(h: Herald, ref: str, fmt_: str, path: Path, *,
                viewer: Viewer | None = None) -> Path:
    """Write the plan in one of md, html, pdf, docx."""
    fmt_ = fmt_.lower().strip()
    if fmt_ not in FORMATS:
        raise InvalidInput(f"format must be one of: {', '.join(FORMATS)}")
    if path.is_dir() or not path.parent.exists():
        raise InvalidInput(f"cannot write {path}: give a file in an existing folder")
    doc = gather(h, ref, viewer=viewer)
    if fmt_ == "md":
        path.write_text(to_markdown(doc), encoding="utf-8")
    elif fmt_ == "html":
        path.write_text(to_html(doc), encoding="utf-8")
    elif fmt_ == "pdf":
        from weasyprint import HTML

        HTML(string=to_html(doc)).write_pdf(str(path))
    else:
        to_docx(doc, path)
    return path


# The wrap-up (FAQ, post-mortem requests, summary) registers its sections on import.
from herald.services import wrapup as _wrapup  # noqa: E402,F401
