"""The communication plan's gathered facts, named as the handbook names them."""

from __future__ import annotations

from dataclasses import dataclass

from herald.errors import InvalidInput


@dataclass(frozen=True)
class FactField:
    """One blank of the plan's 'gathered information' section."""

    key: str
    label: str
    help: str


FACTS: tuple[FactField, ...] = (
    FactField("release", "Affected release", "Which release or version has the issue."),
    FactField("causes", "What it causes", "What the issue does to a customer, plainly."),
    FactField("impact_condition", "Who is impacted",
              "The condition that makes a customer impacted."),
    FactField("how_to_determine", "How to tell",
              "How a customer can check whether they are impacted."),
    FactField("remediation", "Remediation", "What fixes it, and whether the customer must act."),
    FactField("customer_must_act", "Customer must act", "yes or no."),
    FactField("deployments", "Deployment types affected", "self-hosted, cloud, or both."),
    FactField("self_hosted_share", "Self-hosted share impacted",
              "Percent of self-hosted customers impacted."),
    FactField("cloud_share", "Cloud share impacted", "Percent of cloud customers impacted."),
    FactField("aware_at", "Engineering became aware", "When, in UTC."),
)

FACT_KEYS = {f.key: f for f in FACTS}


def check_fact(key: str, value: str) -> tuple[str, str]:
    """Validate a fact's key and value and return them normalised."""
    norm = key.strip().lower().replace("-", "_")
    if norm not in FACT_KEYS:
        raise InvalidInput(f"unknown plan field {key!r}; fields are: {', '.join(FACT_KEYS)}")
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{norm}: a value is required")
    if norm == "customer_must_act" and text.lower() not in {"yes", "no"}:
        raise InvalidInput("customer_must_act: answer yes or no")
    if norm in {"self_hosted_share", "cloud_share"}:
        try:
            share = float(text.rstrip("%"))
        except ValueError:
            raise InvalidInput(f"{norm}: a percentage from 0 to 100 (got {value!r})") from None
        if not 0 <= share <= 100:
            raise InvalidInput(f"{norm}: a percentage from 0 to 100 (got {value!r})")
        text = f"{share:g}"
    if norm == "deployments":
        parts = {p.strip() for p in text.lower().replace("&", ",").replace(" and ", ",").split(",")}
        parts.discard("")
        allowed = {"self-hosted", "cloud"}
        if not parts or not parts <= allowed:
            raise InvalidInput("deployments: self-hosted, cloud, or both (comma separated)")
        text = ", ".join(sorted(parts, reverse=True))
    return norm, text.lower() if norm == "customer_must_act" else text
