"""The impacted customer list: deployments, impact marks, valid emails, completeness, shares."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email


class Deployment(StrEnum):
    """How a customer runs the product."""

    SELF_HOSTED = "self-hosted"
    CLOUD = "cloud"


class Impact(StrEnum):
    """Whether an account is impacted by this incident."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


_DEPLOYMENT_WORDS = {
    "self-hosted": Deployment.SELF_HOSTED, "selfhosted": Deployment.SELF_HOSTED,
    "self hosted": Deployment.SELF_HOSTED, "on-prem": Deployment.SELF_HOSTED,
    "on-premises": Deployment.SELF_HOSTED, "on prem": Deployment.SELF_HOSTED,
    "onprem": Deployment.SELF_HOSTED, "server": Deployment.SELF_HOSTED,
    "cloud": Deployment.CLOUD, "managed": Deployment.CLOUD, "saas": Deployment.CLOUD,
    "dedicated cloud": Deployment.CLOUD, "managed instance": Deployment.CLOUD,
}
_YES = {"yes", "y", "true", "1", "x", "impacted", "oui", "ja", "si", "sí"}
_NO = {"no", "n", "false", "0", "not impacted", "non", "nein"}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
# Local part: the dot-atom of RFC 5322, which is what real mailboxes use.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


def parse_deployment(text: str) -> Deployment | None:
    """Read a deployment type as CRM reports spell it; None when blank or unknown."""
    return _DEPLOYMENT_WORDS.get(" ".join((text or "").lower().split()))


def parse_impact(text: str) -> Impact | None:
    """Read a yes/no mark as people type it in a sheet; None when it is neither."""
    word = " ".join((text or "").strip().lower().split())
    if not word:
        return Impact.UNKNOWN
    if word in _YES:
        return Impact.YES
    if word in _NO:
        return Impact.NO
    return None


def parse_flag(text: str) -> bool:
    """A checkbox column (Incident Contact): true for yes-like values."""
    return (text or "").strip().lower() in _YES


# A lower-case ASCII host name that email_validator accepts unchanged: labels of letters, digits
# and inner hyphens (at most 63 characters), at least two labels, a top-level label ending with a
# letter. Anything else (upper case, Unicode, "--" as in "xn--" labels, special-use names, long
# names) takes the full check: the fast path spares that call (about 100 us) for the common case,
# which matters for a million-row list with hundreds of thousands of distinct hosts.
_PLAIN_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z0-9][a-z0-9-]{0,61})?[a-z]"
_PLAIN_DOMAIN = re.compile(_PLAIN_HOST)
# A lower-case ASCII address whose local part is a dot-atom (as _LOCAL) and whose domain is plain.
_PLAIN_EMAIL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@("
                          + _PLAIN_HOST + ")")
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)  # all single labels: a name is one, or ends so


def _plain(domain: str) -> bool:
    """Whether the full check would accept `domain` as it is (when True, it would)."""
    return (len(domain) <= 252 and "--" not in domain
            and domain[domain.rfind(".") + 1:] not in _SPECIAL_USE
            and _PLAIN_DOMAIN.fullmatch(domain) is not None)


def _domain_ok(domain: str) -> str | None:
    """Validate a domain (syntax and shape, no DNS); the normalised domain or None."""
    return domain if _plain(domain) else _domain_checked(domain)


@lru_cache(maxsize=65536)
def _domain_checked(domain: str) -> str | None:
    """The full check of email_validator, once per domain."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def clean_email(text: str) -> str | None:
    """A lower-cased, checked email address, or None (fast enough for a million rows)."""
    if text and text.isascii():  # the common case, decided at once: a plain address
        low = text.lower()
        found = _PLAIN_EMAIL.fullmatch(low)
        if (found is not None and len(low) <= 254 and found.start(1) <= 65
                and "--" not in found[1] and low[low.rfind(".") + 1:] not in _SPECIAL_USE):
            return low
    return _clean_email_checked(text)


def _clean_email_checked(text: str) -> str | None:
    """clean_email for any text: trims spaces, <...> and mailto:, checks each part."""
    raw = (text or "").strip().strip("<>").strip()
    if raw.lower().startswith("mailto:"):
        raw = raw[7:]
    local, at, domain = raw.rpartition("@")
    if not at or not local or len(raw) > 254 or len(local) > 64 or not _LOCAL.match(local):
        return None
    norm = _domain_ok(domain.lower())
    return f"{local.lower()}@{norm}" if norm else None


def email_domain(email: str) -> str:
    """The domain part of a normalised email."""
    return email.rpartition("@")[2].lower()


def clean_domain(text: str) -> str | None:
    """A bare domain from 'https://www.acme.com/x', 'acme.com' or 'mail@acme.com'."""
    raw = (text or "").strip().lower()
    if not raw:
        return None
    if "@" in raw and "/" not in raw:
        raw = raw.rpartition("@")[2]
    if "://" in raw:
        raw = _SCHEME.sub("", raw)
    raw = raw.partition("/")[0].partition(":")[0]
    raw = raw.removeprefix("www.").strip(".")
    return _domain_ok(raw) if "." in raw else None


def domain_candidates(host: str) -> list[str]:
    """Domains an instance host may belong to: 'sg.eu.acme.com' -> acme.com, eu.acme.com, ..."""
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1)]


@dataclass(frozen=True)
class AccountFacts:
    """What completeness needs to know about one account on the list."""

    key: str
    name: str
    impact: Impact
    valid_emails: int
    invalid_emails: tuple[str, ...] = ()
    ce: bool = False
    ae: bool = False


@dataclass
class Completeness:
    """Is the list ready to send to, and if not, why."""

    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Ready when nothing is missing."""
        return not self.problems


def completeness(accounts: Iterable[AccountFacts], *, max_listed: int = 50,
                 unknown: int = 0) -> Completeness:
    """Every impacted account needs a valid email, a CE and an AE (or an explicit none).
    `unknown` counts unanswered accounts the caller left out of `accounts` (a long list's
    status reads the facts of its impacted accounts only)."""
    result = Completeness()
    impacted = 0
    problems: list[str] = []
    for a in accounts:
        if a.impact is Impact.UNKNOWN:
            unknown += 1
            continue
        if a.impact is not Impact.YES:
            continue
        impacted += 1
        if a.valid_emails == 0:
            problems.append(f"{a.name} ({a.key}): no valid email address")
        for bad in a.invalid_emails:
            problems.append(f"{a.name} ({a.key}): invalid email {bad!r}")
        if not a.ce:
            problems.append(f"{a.name} ({a.key}): no CE (set one, or mark 'none')")
        if not a.ae:
            problems.append(f"{a.name} ({a.key}): no AE (set one, or mark 'none')")
    if unknown:
        result.problems.append(f"{unknown} account(s) not marked impacted yes/no yet")
    if impacted == 0 and unknown == 0:
        result.problems.append("no account is marked impacted")
    result.problems.extend(problems[:max_listed])
    if len(problems) > max_listed:
        result.problems.append(f"... and {len(problems) - max_listed} more")
    return result


@dataclass(frozen=True)
class Share:
    """Impacted accounts of one deployment type, out of all accounts of that type."""

    deployment: str
    impacted: int
    total: int

    @property
    def percent(self) -> float:
        """The share in percent (0 when there are no accounts of the type)."""
        return round(100.0 * self.impacted / self.total, 1) if self.total else 0.0


def shares(impacted: dict[str, int], totals: dict[str, int]) -> list[Share]:
    """Impact share per deployment type."""
    return [Share(d.value, impacted.get(d.value, 0), totals.get(d.value, 0)) for d in Deployment]
