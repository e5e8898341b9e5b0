"""Per-recipient rendering of an email draft: what each customer will receive."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import Template as JinjaTemplate
from jinja2.exceptions import TemplateError
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.domain.access import Viewer
from herald.domain.incident import Role
from herald.errors import NotFound
from herald.services.common import current_role
from herald.services.contacts import told_contacts
from herald.services.context import Herald
from herald.services.drafts import draft_of, version_of
from herald.services.guard import visible_incident
from herald.store.models import Fact
from herald.templates.engine import TemplateProblem, draft_sandbox


class Recipient(BaseModel):
    """One customer contact who will get the email, with their account team."""

    email: str
    contact_name: str
    customer_name: str
    account_id: str
    ce_name: str
    ce_email: str | None
    ae_name: str
    ae_email: str | None


class RenderedEmail(BaseModel):
    """The exact email one recipient gets."""

    to: str
    cc: list[str]
    subject: str
    body: str


@dataclass
class Personalizer:
    """A draft compiled once, rendered for many recipients (the per-email cost is small)."""

    subject: JinjaTemplate | None
    body: JinjaTemplate
    shared: dict[str, Any]
    support_address: str
    name: str = "draft"

    @classmethod
    def compile(cls, body: str, subject: str | None, shared: dict[str, Any],
                support_address: str, name: str = "draft") -> Personalizer:
        """Compile the draft's subject and body in the drafts' sandbox (no globals)."""
        env = draft_sandbox()
        try:
            return cls(env.from_string(subject) if subject else None, env.from_string(body),
                       shared, support_address, name)
        except TemplateError as exc:
            raise TemplateProblem(name, getattr(exc, "lineno", None), str(exc)) from None

    def render(self, r: Recipient) -> RenderedEmail:
        """The email for one recipient: To the contact, CC their CE, AE and support."""
        values = self.shared | {"customer_name": r.customer_name,
                                "contact_name": r.contact_name, "ce_name": r.ce_name,
                                "ae_name": r.ae_name}
        try:
            body = _render(self.body, values).strip("\n")
            subject = _render(self.subject, values).strip() if self.subject else ""
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateProblem(self.name, getattr(exc, "lineno", None), str(exc)) from None
        cc = [a for a in (r.ce_email, r.ae_email, self.support_address)
              if a and a != "none" and a != r.email]
        # Every value is a str made just above: nothing for pydantic to check, per email.
        # The subject is folded to one line: a name with CR/LF cannot add a mail header.
        return RenderedEmail.model_construct(to=r.email, cc=list(dict.fromkeys(cc)),
                                             subject=" ".join(subject.split()), body=body)


def _render(template: JinjaTemplate, values: dict[str, Any]) -> str:
    """`Template.render` without its per-call copy of the globals (the drafts' sandbox has
    none), which was most of the cost of a short email.

    The sandbox's checks are compiled into the template's code, so they apply exactly as in
    `render`; on any failure the template is rendered again through `render`, which raises
    the same error the way Jinja reports it.
    """
    env = template.environment
    try:
        context = env.context_class(env, values, template.name, template.blocks)
        return "".join(template.root_render_func(context))
    except Exception:
        return template.render(values)


def iter_recipients(s: Session, incident_id: int) -> Iterator[Recipient]:
    """Everyone the incident's emails go to, one at a time (a send streams them)."""
    for a, c in told_contacts(s, incident_id):
        yield Recipient(email=c.email, contact_name=c.name or c.email.split("@")[0],
                        customer_name=a.name, account_id=a.crm_id or f"#{a.id}",
                        ce_name=a.ce_name, ce_email=a.ce_email or ("none" if a.ce_none else None),
                        ae_name=a.ae_name, ae_email=a.ae_email or ("none" if a.ae_none else None))


def recipients(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[Recipient]:
    """Everyone the incident's emails go to: the told contacts of impacted accounts."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        return list(iter_recipients(s, inc.id))


def personalizer(h: Herald, ref: str, kind: str, *, version: int | None = None,
                 viewer: Viewer | None = None) -> Personalizer:
    """Compile one version of an email draft for per-recipient rendering."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        v = version_of(s, draft_of(s, inc, kind), version)
        must_act = s.scalar(select(Fact.value).where(Fact.incident_id == inc.id,
                                                     Fact.key == "customer_must_act"))
        messenger = current_role(inc, Role.MESSENGER.value)
        signer = (messenger.person.name or messenger.person.email) if messenger else ""
    # messenger_name is a blank a draft may use (to sign), so every email needs its value
    return Personalizer.compile(v.body, v.subject,
                                {"must_act": must_act == "yes", "messenger_name": signer},
                                h.settings.support_address, name=kind)


def preview(h: Herald, ref: str, kind: str, *, recipient: str | None = None,
            viewer: Viewer | None = None) -> RenderedEmail:
    """What one recipient (the first, unless named) will receive."""
    people = recipients(h, ref, viewer=viewer)
    if not people:
        raise NotFound("nobody to preview: no impacted account has a contact yet")
    chosen = people[0] if recipient is None else next(
        (p for p in people if p.email == recipient.strip().lower()), None)
    if chosen is None:
        raise NotFound(f"{recipient} is not among this incident's recipients")
    return personalizer(h, ref, kind, viewer=viewer).render(chosen)
