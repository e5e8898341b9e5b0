"""Services that fill the communication plan: facts, security sign-off, retro notes."""

from __future__ import annotations

from sqlalchemy import select

from herald.domain.incident import Role, normalize_email
from herald.domain.plan import check_fact
from herald.errors import Conflict, Forbidden, InvalidInput, NotFound
from herald.services.common import (
    actor_email,
    audit,
    current_role,
    find_incident,
    touch,
)
from herald.services.context import Herald
from herald.store.models import Fact, RetroNote
from herald.timeparse import fmt, parse_utc


def set_fact(
    h: Herald, ref: str, key: str, value: str, *, actor: str, provided_by: str | None = None,
    source: str | None = None, expected_version: int | None = None,
) -> int:
    """Record or change a gathered fact; a change voids any earlier security sign-off."""
    actor = actor_email(actor)
    key, value = check_fact(key, value)
    provider = normalize_email(provided_by) if provided_by else actor
    aware = parse_utc(value, field="aware_at") if key == "aware_at" else None
    value = fmt(aware) if aware else value
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        fact = s.scalar(select(Fact).where(Fact.incident_id == inc.id, Fact.key == key))
        if fact is not None and expected_version is not None and fact.version != expected_version:
            raise Conflict(f"{key} was changed by {fact.recorded_by} since you loaded it; "
                           f"it now reads {fact.value!r}. Reload, then save yours again")
        before = None if fact is None else {"value": fact.value, "provided_by": fact.provided_by}
        if fact is None:
            fact = Fact(incident_id=inc.id, key=key)
            s.add(fact)
        elif fact.value == value and fact.provided_by == provider and \
                source in (None, fact.source):  # a new source alone is a change to keep
            return fact.version
        fact.value, fact.provided_by, fact.source = value, provider, source
        fact.recorded_at, fact.recorded_by = now, actor
        fact.signed_off_by = fact.signed_off_at = None
        if aware is not None:
            inc.aware_at = aware
        touch(inc, now)
        audit(s, at=now, actor=actor, action="fact.set", incident=inc, target=key,
              before=before, after={"value": value, "provided_by": provider, "source": source})
        s.flush()
        return fact.version


def sign_off_facts(h: Herald, ref: str, keys: list[str] | None, *, actor: str) -> list[str]:
    """The security lead signs off facts (all unsigned ones when no keys are given)."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        lead = current_role(inc, Role.SECURITY_LEAD.value)
        if lead is None or lead.person.email.lower() != actor.lower():
            raise Forbidden("only the incident's security lead can sign off facts")
        facts = {f.key: f for f in s.scalars(select(Fact).where(Fact.incident_id == inc.id))}
        wanted = keys or [k for k, f in facts.items() if f.signed_off_at is None]
        missing = [k for k in wanted if k not in facts]
        if missing:
            raise NotFound(f"no fact recorded for: {', '.join(missing)}")
        for key in wanted:
            facts[key].signed_off_by, facts[key].signed_off_at = actor, now
        if wanted:
            touch(inc, now)
            audit(s, at=now, actor=actor, action="fact.signed_off", incident=inc,
                  target=", ".join(sorted(wanted)))
        return sorted(wanted)


def add_retro_note(h: Herald, ref: str, text: str, *, actor: str) -> int:
    """Park a process idea for the retro instead of changing the process mid-incident."""
    actor = actor_email(actor)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a retro note needs some text")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        note = RetroNote(incident_id=inc.id, text=text, at=now, by=actor)
        s.add(note)
        touch(inc, now)
        s.flush()
        audit(s, at=now, actor=actor, action="retro.noted", incident=inc, after=text)
        return note.id
