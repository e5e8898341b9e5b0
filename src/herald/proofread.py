"""The buddy's second pair of eyes: spelling, style, readability, blanks and consistency.

Every finding has a position, a message and (where possible) a suggestion. Only unfilled
blanks block approval; everything else is for the buddy to judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from pydantic import BaseModel

RECIPIENT_BLANKS = ("customer_name", "contact_name", "ce_name", "ae_name", "must_act",
                    "messenger_name")
_PLACEHOLDERS = [
    # "____ (release)" is how a draft shows a blank nobody filled; the name is in the message.
    (re.compile(r"_{3,}(?: \((\w[\w .-]{0,59})\))?"), "an unfilled blank (____)"),
    (re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{\{|\{%"), "template code left in the text"),
    (re.compile(r"\bTODO\b|\bTBD\b|\bXXX\b"), "a to-do marker"),
    (re.compile(r"\[link[^\]]*\]|\[slack channel\]|\[.*?link to .*?\]", re.I),
     "a link placeholder"),
    (re.compile(r"\binc-#+", re.I), "an incident number placeholder (inc-##)"),
    (re.compile(r"\byyyy-mm-dd\b", re.I), "a date placeholder"),
]
_ALLOWED_BLANK = re.compile(r"\{\{\s*(" + "|".join(RECIPIENT_BLANKS) + r")\s*\}\}")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*[A-Za-z]|[A-Za-z]")
_SKIP = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(\.[\w-]+)+|\{\{.*?\}\}|`[^`]*`")
_HANDLE = re.compile(r"(?<![\w@])@[\w][\w.-]*")
_DIGITS = re.compile(r"[\d\s]+")
_TIME = re.compile(r"\b([01]?\d|2[0-3]):[0-5]\d(\s?[ap]\.?m\.?)?", re.I)
_UTC_NEAR = re.compile(r"^\s*(\(?UTC\)?|Z\b|GMT|\+00:?00)", re.I)
BASE_VOCABULARY = {
    "postmortem", "post-mortem", "retro", "self-hosted", "selfhosted", "utc", "api", "sso",
    "postmortems", "mortem",  # "post-mortem" is read as two words
    "saml", "url", "urls", "repo", "repos", "config", "login", "logins", "signup", "email",
    "emails", "cta", "faq", "faqs", "ui", "ux", "http", "https", "dns", "cdn", "ci", "sdk",
    "hotfix", "rollout", "rollback", "uptime", "downtime", "workaround", "workarounds",
    "reindex", "re-index", "reindexes", "re-indexes", "onboarding", "kubernetes", "helm",
    "dashboard", "dashboards", "webhook", "webhooks", "timestamp", "timestamps", "admin",
    "admins", "remediate", "remediation", "inc", "okta", "github", "gitlab", "jira", "slack",
}


class Finding(BaseModel):
    """One thing the proofreader noticed."""

    kind: str  # blank, spelling, style, readability, consistency, length
    severity: str  # error blocks approval; warning and note inform
    start: int
    end: int
    line: int
    column: int
    message: str
    suggestion: str | None = None
    part: str = "body"  # body or subject: which text start/end/line/column count in

    @property
    def blocking(self) -> bool:
        """Only unfilled blanks stop an approval."""
        return self.severity == "error" and self.kind == "blank"


@dataclass(frozen=True)
class DraftFacts:
    """What the consistency checks need to know about the draft's situation."""

    customer_facing: bool = True
    security: bool = False
    support_address: str | None = None
    is_email: bool = False


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _finding(text: str, kind: str, severity: str, start: int, end: int, message: str,
             suggestion: str | None = None) -> Finding:
    line, column = _position(text, start)
    return Finding(kind=kind, severity=severity, start=start, end=end, line=line,
                   column=column, message=message, suggestion=suggestion)


def check_blanks(text: str) -> list[Finding]:
    """Placeholders left unfilled: these block approval."""
    out = []
    allowed = {m.span() for m in _ALLOWED_BLANK.finditer(text)}
    for pattern, what in _PLACEHOLDERS:
        for m in pattern.finditer(text):
            if any(a <= m.start() < b for a, b in allowed):
                continue
            named = m.group(1) if m.groups() else None
            message = (f"unfilled blank {named.replace(' ', '_')!r}" if named
                       else f"{what}: {m.group(0)!r}")
            out.append(_finding(text, "blank", "error", m.start(), m.end(), message,
                                "fill it in or remove it"))
    return out


@lru_cache(maxsize=8)  # one per team vocabulary in use; each holds a whole dictionary
def _speller(vocabulary: frozenset[str]) -> object:
    from spellchecker import SpellChecker

    speller = SpellChecker(distance=1)
    speller.word_frequency.load_words(BASE_VOCABULARY | vocabulary)
    return speller


def check_spelling(text: str, vocabulary: frozenset[str] = frozenset(),
                   names: frozenset[str] = frozenset()) -> list[Finding]:
    """Words the dictionary and the team's vocabulary do not know.

    `names` are words known for this text only (the incident's people): accepted without
    building another dictionary for them.
    """
    speller = _speller(frozenset(w.lower() for w in vocabulary))
    masked = _SKIP.sub(lambda m: " " * len(m.group(0)), text)
    words = [(m.group(0), m.start()) for m in _WORD.finditer(masked)]
    candidates = [w for w, _ in words if len(w) > 2 and not w.isupper()]
    unknown = speller.unknown([w.lower() for w in candidates])  # type: ignore[attr-defined]
    unknown -= {n.lower() for n in names}
    out = []
    for word, start in words:
        if word.lower() in unknown and len(word) > 2 and not word.isupper():
            fix = speller.correction(word.lower())  # type: ignore[attr-defined]
            out.append(_finding(text, "spelling", "warning", start, start + len(word),
                                f"unknown word {word!r}",
                                f"did you mean {fix!r}? (or add it to the vocabulary)"
                                if fix and fix != word.lower() else "add it to the vocabulary "
                                "if it is a product name"))
    return out


# Proselint checks whose tone does not fit a calm product; the advice itself stays.
_STYLE_MESSAGES = {"weasel_words.very": "'very' rarely adds meaning; try a stronger word"}


@cache
def _proselint_ready() -> bool:
    from proselint.checks import __register__
    from proselint.registry import CheckRegistry

    CheckRegistry().register_many(__register__)
    return True


def check_style(text: str) -> list[Finding]:
    """Proselint's advice, positioned in the text."""
    from proselint.tools import LintFile

    _proselint_ready()
    out = []
    for result in LintFile("draft", text).lint() if text.strip() else []:
        r = result.check_result
        start = max(0, r.span[0] - 1)  # proselint pads the text with one leading newline
        end = max(start, r.span[1] - 1)
        if r.check_path == "lexical_illusions" and _DIGITS.fullmatch(text[start:end]):
            continue  # "2026-01-01 15:00" is a date and a time, not a word said twice
        replacement = getattr(r, "replacements", None)
        message = _STYLE_MESSAGES.get(r.check_path, r.message)
        out.append(_finding(text, "style", "note", start, end, message,
                            f"consider {replacement!r}" if replacement else None))
    return out


def check_readability(text: str) -> list[Finding]:
    """A whole-text readability score (textstat); hard texts get a note."""
    import textstat

    words = len(text.split())
    if words < 25:
        return []
    # Links, addresses and chat handles are not prose: scored as they are, their "syllables"
    # make any message with a link look hard. They count as one short word each.
    prose = _HANDLE.sub("them", _SKIP.sub("link", text))
    score = float(textstat.flesch_reading_ease(prose))
    if score >= 45:
        return []
    return [_finding(text, "readability", "warning", 0, 0,
                     f"hard to read (reading ease {score:.0f}; aim for 50 or more)",
                     "use shorter sentences and plainer words")]


def check_consistency(text: str, facts: DraftFacts) -> list[Finding]:
    """Status page mentions, support address, times without UTC."""
    out = []
    lower = text.lower()
    mention = lower.find("status page")
    if mention >= 0 and facts.security:
        out.append(_finding(text, "consistency", "error", mention, mention + 11,
                            "a security incident never goes on the status page",
                            "remove the status page mention"))
    elif mention >= 0 and "http" not in lower:
        out.append(_finding(text, "consistency", "warning", mention, mention + 11,
                            "the status page is mentioned but no link is given",
                            "add the status post's link"))
    if facts.customer_facing and facts.support_address and \
            facts.support_address.lower() not in lower and not facts.is_email:
        out.append(_finding(text, "consistency", "warning", 0, 0,
                            f"the support address {facts.support_address} is missing",
                            "tell customers where to write"))
    for m in _TIME.finditer(text):
        if not _UTC_NEAR.match(text[m.end():m.end() + 8]):
            out.append(_finding(text, "consistency", "warning", m.start(), m.end(),
                                f"the time {m.group(0)!r} has no time zone", "add UTC"))
    return out


def check_length(text: str, *, is_email: bool, subject: str | None = None) -> list[Finding]:
    """Long messages lose readers under stress."""
    out = []
    words = len(text.split())
    limit = 220 if is_email else 120
    if words > limit:
        out.append(_finding(text, "length", "warning", 0, 0,
                            f"{words} words; keep it under {limit}", "cut what is not needed"))
    if subject and len(subject) > 90:
        out.append(_finding(subject, "length", "warning", 0, len(subject),
                            f"the subject has {len(subject)} characters; keep it under 90",
                            "shorten the subject").model_copy(update={"part": "subject"}))
    return out


def proofread(text: str, facts: DraftFacts, *, subject: str | None = None,
              vocabulary: frozenset[str] = frozenset(),
              names: frozenset[str] = frozenset()) -> list[Finding]:
    """Every check, sorted by position: the subject's findings (part="subject") first."""
    in_subject = [f.model_copy(update={"part": "subject"}) for f in
                  check_blanks(subject or "") + check_spelling(subject or "", vocabulary, names)]
    findings = (in_subject + check_blanks(text)
                + check_spelling(text, vocabulary, names) + check_style(text)
                + check_readability(text) + check_consistency(text, facts)
                + check_length(text, is_email=facts.is_email, subject=subject))
    return sorted(findings, key=lambda f: (f.part != "subject", f.start, f.kind))
