"""Numbers for /metrics: counts only, never titles, emails or message text."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from herald import __version__
from herald.domain.incident import Severity
from herald.services import health
from herald.services.context import Herald
from herald.store.models import Incident
from herald.store.outbox_models import OutboxItem

# Outbox rows still needing work, by state ("unknown": the server may or may not have the
# message, and a person must settle it); and rows that reached a final state. Finished rows are
# never deleted, so those counts only grow, as a Prometheus counter must.
OUTBOX_STATES = ("queued", "sending", "retry", "unknown")
SEND_STATES = ("sent", "failed", "cancelled")
NO_SEVERITY = "none"

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """One metric family: name, type, help and its samples (labels -> value)."""

    name: str
    type: str  # "gauge" or "counter"
    help: str
    samples: dict[Labels, float] = field(default_factory=dict)


def collect(h: Herald) -> list[Family]:
    """Every family Herald exposes, read in one database session."""
    with h.db.sessions() as s:
        families = [_build_info(), _incidents_open(s)]
        depth, sends = _outbox(s)
    workers = health.workers(h)
    families += [depth, sends, Family(
        "herald_workers", "gauge", "Background workers by heartbeat state.",
        {(("state", "alive"),): workers.alive, (("state", "stale"),): workers.stale})]
    return families


def _build_info() -> Family:
    return Family("herald_build_info", "gauge", "Herald's version; the value is always 1.",
                  {(("version", __version__),): 1})


def _incidents_open(s: Session) -> Family:
    """Open incidents by severity and security flag; demo incidents are not counted."""
    fam = Family("herald_incidents_open", "gauge",
                 "Open incidents (demo ones excluded) by severity and security flag.")
    severities = [sev.value for sev in Severity] + [NO_SEVERITY]
    for sev in severities:  # every series exists, so a dashboard shows 0 instead of a gap
        for flag in ("false", "true"):
            fam.samples[(("severity", sev), ("security", flag))] = 0
    rows = s.execute(select(Incident.severity, Incident.security, func.count())
                     .where(Incident.status == "open", Incident.demo.is_(False))
                     .group_by(Incident.severity, Incident.security)).all()
    for severity, security, count in rows:
        sev = severity if severity in severities else NO_SEVERITY  # only known label values
        key = (("severity", sev), ("security", "true" if security else "false"))
        fam.samples[key] += count
    return fam


def _outbox(s: Session) -> tuple[Family, Family]:
    """Outbox depth by state and finished sends by outcome (label values from fixed lists)."""
    depth = Family("herald_outbox_depth", "gauge",
                   "Outbox rows still needing work, by state (unknown = a person must settle).",
                   {(("state", st),): 0 for st in OUTBOX_STATES})
    sends = Family("herald_sends_total", "counter",
                   "Outbox rows that reached a final state, by state.",
                   {(("state", st),): 0 for st in SEND_STATES})
    for state, count in s.execute(select(OutboxItem.state, func.count())
                                  .group_by(OutboxItem.state)):
        if state in OUTBOX_STATES:
            depth.samples[(("state", state),)] = count
        elif state in SEND_STATES:
            sends.samples[(("state", state),)] = count
    return depth, sends


def exposition(families: list[Family]) -> str:
    """The Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for fam in families:
        lines.append(f"# HELP {fam.name} {_escape_help(fam.help)}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        for labels, value in fam.samples.items():
            inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
            lines.append(f"{fam.name}{{{inner}}} {_number(value)}" if inner
                         else f"{fam.name} {_number(value)}")
    return "\n".join(lines) + "\n"


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
