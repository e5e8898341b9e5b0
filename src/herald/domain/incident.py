"""Incident identity and people: numbers, severities, roles and the security flag rule."""

from __future__ import annotations

import re
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email

from herald.errors import Forbidden, InvalidInput

_NUMBER = re.compile(r"^\s*#?inc-?(\d{1,6})\s*$", re.IGNORECASE)


class Role(StrEnum):
    """The incident roles of the handbook."""

    MESSENGER = "messenger"
    BUDDY = "buddy"
    INCIDENT_LEAD = "incident_lead"
    SECURITY_LEAD = "security_lead"
    CS_LEADER = "cs_leader"

    @property
    def label(self) -> str:
        """The role as people say it."""
        return {"cs_leader": "CS leader"}.get(self.value, self.value.replace("_", " "))


class Severity(StrEnum):
    """How bad it is; SEV1 is the worst."""

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"


def parse_number(text: str) -> str:
    """Normalise an incident number to 'inc-NN', or explain the expected shape."""
    match = _NUMBER.match(text or "")
    if not match:
        raise InvalidInput(f"incident number must look like inc-42 (got {text!r})")
    return f"inc-{int(match.group(1))}"


def looks_like_number(text: str) -> bool:
    """True when the text is meant as an incident number rather than an id."""
    return bool(_NUMBER.match(text)) and "inc" in text.lower()


def parse_role(text: str) -> Role:
    """Read a role name, accepting spaces or dashes for underscores."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Role(key)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {text!r}; roles are: {names}") from None


def parse_severity(text: str) -> Severity:
    """Read a severity such as 'sev2' or '2'."""
    key = text.strip().lower()
    key = f"sev{key}" if key.isdigit() else key
    try:
        return Severity(key)
    except ValueError:
        raise InvalidInput(f"unknown severity {text!r}; use sev1 (worst) to sev4") from None


def normalize_email(text: str) -> str:
    """Check an email's syntax and domain shape (no DNS) and return it normalised."""
    try:
        return validate_email((text or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid email {text!r}: {exc}") from None


def check_title(text: str) -> str:
    """A descriptive title is required and fits on one line."""
    title = " ".join((text or "").split())
    if len(title) < 3:
        raise InvalidInput("the incident needs a descriptive title (3 characters or more)")
    if len(title) > 200:
        raise InvalidInput("the title is longer than 200 characters; keep it descriptive, short")
    return title


def check_security_change(
    *, current: bool, wanted: bool, actor: str, security_lead: str | None, reason: str | None
) -> None:
    """Raising the flag is always allowed; lowering it needs the security lead and a reason."""
    if current and not wanted:
        if security_lead is None or actor.lower() != security_lead.lower():
            raise Forbidden("only the incident's security lead may lower the security flag")
        if not (reason and reason.strip()):
            raise InvalidInput("lowering the security flag needs a reason")
