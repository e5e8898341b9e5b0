"""`herald contacts ...`: import, mark, list, check and export the impacted customer list."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.exports import safe_cell
from herald.services import contacts
from herald.services.contact_export import export_contacts

contacts_app = typer.Typer(no_args_is_help=True, help="The impacted customer contact list.")
app.add_typer(contacts_app, name="contacts")


@contacts_app.command("import")
def import_(
    ref: Ref,
    file: Annotated[Path, typer.Argument(help="CSV or XLSX file.")],
    source: Annotated[str, typer.Option(help="engineering or crm")],
    mapping: Annotated[Path | None, typer.Option(help="JSON/TOML: field = header name.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; write nothing.")] = False,
    json_: Json = False,
    as_: As = None,
) -> None:
    """Import a list and report every row's fate (imported, merged or rejected)."""
    from herald.services import contact_import  # Polars is loaded for imports only

    report = contact_import.import_file(
        herald(), ref, file, source=source, actor=actor(as_),
        mapping=contact_import.load_mapping(mapping), dry_run=dry_run)
    if json_:
        emit_json(report)
        return
    head = "would import" if dry_run else "imported"
    ok(f"{file.name} ({report.encoding}): read {report.read} rows, {head} {report.imported}, "
       f"merged {report.merged}, rejected {len(report.rejected)}"
       + (f", ignored {len(report.ignored)} non-data lines" if report.ignored else ""))
    ok(f"accounts +{report.accounts_created} ~{report.accounts_updated}, contacts "
       f"+{report.contacts_created} ~{report.contacts_updated}, marks {report.marks_set}")
    for r in report.rejected[:50]:
        ok(f"  {file.name}:{r.line}: rejected: {r.reason}" + (f" ({r.value})" if r.value else ""))
    if len(report.rejected) > 50:
        ok(f"  ... {len(report.rejected) - 50} more rejected rows (use --json for all)")


@contacts_app.command("list")
def list_(
    ref: Ref,
    json_: Json = False,
    csv_: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    impacted: Annotated[bool, typer.Option(help="Only impacted accounts.")] = False,
) -> None:
    """The list: accounts on it, their contacts, marks, CE and AE."""
    rows = contacts.list_contacts(herald(), ref, impacted_only=impacted)
    if json_:
        emit_json(rows)
        return
    if csv_:
        writer = csv.writer(sys.stdout)
        fields = list(contacts.ContactRow.model_fields)
        writer.writerow(fields)
        for r in rows:
            writer.writerow([_cell(getattr(r, f)) for f in fields])
        return
    table = Table("account", "deployment", "impacted", "contact", "CE", "AE")
    for r in rows:
        mark = {True: "yes", False: "no", None: "?"}[r.impacted]
        table.add_row(f"{r.account_name} ({r.account_id})", r.deployment or "", mark,
                      r.email or "(no contact)", r.ce_email or "", r.ae_email or "")
    console.print(table)


def _cell(value: object) -> str:
    return safe_cell("" if value is None else str(value))


@contacts_app.command("mark")
def mark(
    ref: Ref, account: Annotated[str, typer.Argument(help="CRM id or exact name.")],
    impact: Annotated[str, typer.Argument(help="yes, no or unknown")], as_: As = None,
) -> None:
    """Mark an account impacted or not."""
    name = contacts.mark(herald(), ref, account, impact, actor=actor(as_))
    ok(f"{name}: impacted {impact}")


@contacts_app.command("status")
def status(ref: Ref, json_: Json = False) -> None:
    """Is the list ready? What is missing? Impact shares per deployment type."""
    st = contacts.list_status(herald(), ref)
    if json_:
        emit_json(st)
        return
    ok("READY" if st.ready else "NOT READY")
    for p in st.problems:
        ok(f"  - {p}")
    ok(f"accounts: {st.accounts['yes']} impacted, {st.accounts['no']} not, "
       f"{st.accounts['unknown']} unmarked; {st.recipients} recipients")
    for sh in st.shares.values():
        ok(f"  {sh.deployment}: {sh.impacted}/{sh.total} impacted ({sh.percent:g}%)")


@contacts_app.command("export")
def export(
    ref: Ref,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    format_: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
) -> None:
    """Write the list as CSV or XLSX (formula-looking cells are neutralised)."""
    n = export_contacts(herald(), ref, output, format_)
    ok(f"wrote {n} rows to {output}")
