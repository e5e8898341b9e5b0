"""`herald templates ...` and `herald draft ...`: templates, drafts, proofreading, previews."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.errors import InvalidInput
from herald.services import drafts, personalize
from herald.services.blanks import pack_for
from herald.templates.engine import DEFAULT_PACK

templates_app = typer.Typer(no_args_is_help=True, help="The message templates in use.")
draft_app = typer.Typer(no_args_is_help=True, help="Drafts of customer and internal messages.")
app.add_typer(templates_app, name="templates")
app.add_typer(draft_app, name="draft")
Kind = Annotated[str, typer.Argument(help="Template kind, e.g. email_impact_known.")]


def verbatim(text: str) -> None:
    """Print message text exactly as it is: no wrapping at the terminal's width, no :emoji:
    codes turned into emoji; what is printed is what gets pasted or sent."""
    typer.echo(text)


@templates_app.command("list")
def templates_list(json_: Json = False) -> None:
    """Every template kind, where it comes from, and its blanks."""
    pack = pack_for(herald())
    rows: list[dict[str, Any]] = []
    for kind in pack.kinds():
        t = pack.get(kind)
        rows.append({"kind": kind, "title": t.title, "audience": t.audience,
                     "channel": t.channel, "source": str(t.path), "blanks": t.blanks,
                     "optional": t.optional})
    if json_:
        emit_json(rows)
        return
    table = Table("kind", "title", "audience", "blanks", "source")
    for r in rows:
        source = "default" if Path(r["source"]).parent == DEFAULT_PACK else r["source"]
        table.add_row(r["kind"], r["title"], r["audience"], ", ".join(r["blanks"]), source)
    console.print(table)


@templates_app.command("show")
def templates_show(kind: Kind) -> None:
    """A template's blanks (with what each means) and its text."""
    t = pack_for(herald()).get(kind)
    ok(f"{t.kind}: {t.title}  ({t.path})")
    for name, text in t.blanks.items():
        ok(f"  {name}: {text}")
    for name, text in t.optional.items():
        ok(f"  {name} (optional): {text}")
    if t.subject:
        verbatim(f"Subject: {t.subject}")
    verbatim(t.source.strip("\n"))


@templates_app.command("check")
def templates_check() -> None:
    """Check every template: syntax and undeclared blanks, with file and line."""
    pack = pack_for(herald())
    problems: list[InvalidInput] = []
    for kind in pack.kinds():
        try:
            problems += pack.check(pack.get(kind))
        except InvalidInput as exc:
            problems.append(exc)
    for p in problems:
        ok(f"error: {p}")
    if problems:
        raise typer.Exit(1)
    ok(f"{len(pack.kinds())} templates OK")


@draft_app.command("new")
def draft_new(
    ref: Ref, kind: Kind,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Blank: NAME=VALUE.")] = None,
    as_: As = None,
) -> None:
    """Write the first version of a draft from its template and the plan."""
    extras = {}
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--set takes NAME=VALUE (got {item!r})")
        extras[name.strip()] = value.strip()
    d = drafts.new_draft(herald(), ref, kind, actor=actor(as_), extras=extras)
    _print(d)


@draft_app.command("edit")
def draft_edit(
    ref: Ref, kind: Kind,
    file: Annotated[Path | None, typer.Option(help="Text from a file ('-' = stdin).")] = None,
    subject: Annotated[str | None, typer.Option(help="New subject (emails).")] = None,
    as_: As = None,
) -> None:
    """Edit a draft in $EDITOR (or from a file); the save is a new version."""
    h = herald()
    current = drafts.get_draft(h, ref, kind)
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    else:
        text = _edit(current.body)
    d = drafts.save_draft(h, ref, kind, body=text, subject=subject or current.subject,
                          base_version=current.version, actor=actor(as_))
    ok(f"saved version {d.version}" if d.version != current.version else "no change")
    _findings(d)


def _edit(text: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise InvalidInput("set $EDITOR, or give the text with --file")
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
        path = f.name
    try:
        subprocess.run([*editor.split(), path], check=True)  # noqa: S603
        return Path(path).read_text(encoding="utf-8")
    finally:
        os.unlink(path)


@draft_app.command("show")
def draft_show(
    ref: Ref, kind: Kind,
    version: Annotated[int | None, typer.Option(help="A version (default: latest).")] = None,
    recipient: Annotated[str | None, typer.Option(help="Show as this recipient gets it.")] = None,
    json_: Json = False,
) -> None:
    """Show a draft, or exactly what one recipient will receive."""
    h = herald()
    if recipient:
        email = personalize.preview(h, ref, kind, recipient=recipient)
        if json_:
            emit_json(email)
            return
        verbatim(f"To: {email.to}\nCc: {', '.join(email.cc)}\nSubject: {email.subject}\n\n"
                 f"{email.body}")
        return
    d = drafts.get_draft(h, ref, kind, version=version)
    if json_:
        emit_json(d)
        return
    _print(d)


@draft_app.command("check")
def draft_check(ref: Ref, kind: Kind, json_: Json = False) -> None:
    """Proofread a draft: blanks, spelling, style, readability, consistency, length."""
    d = drafts.get_draft(herald(), ref, kind)
    if json_:
        emit_json({"kind": kind, "version": d.version, "blocking": d.blocking,
                   "findings": [f.model_dump() for f in d.findings]})
        return
    _findings(d)
    if d.blocking:
        raise typer.Exit(1)


@draft_app.command("diff")
def draft_diff(ref: Ref, kind: Kind, v1: int, v2: int) -> None:
    """What changed between two versions."""
    text = drafts.diff_versions(herald(), ref, kind, v1, v2)
    verbatim(text or "no difference")


def _print(d: drafts.DraftView) -> None:
    ok(f"{d.kind} v{d.version} of {d.latest} ({d.by}, {d.at:%Y-%m-%d %H:%M} UTC)")
    if d.subject:
        verbatim(f"Subject: {d.subject}")
    ok("")
    verbatim(d.body)
    ok("")
    _findings(d)


def _findings(d: drafts.DraftView) -> None:
    if not d.findings:
        ok("proofreading: nothing to flag")
        return
    for f in d.findings:
        tip = f" -> {f.suggestion}" if f.suggestion else ""
        ok(f"  {f.line}:{f.column} {f.severity} [{f.kind}] {f.message}{tip}")
    if d.blocking:
        ok("unfilled blanks: this draft cannot be approved yet")
