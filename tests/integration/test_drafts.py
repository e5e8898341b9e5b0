"""Drafts on a real database: every template from the plan, versions, conflicts, recipients."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald.errors import Conflict, NotFound
from herald.services import contact_import, drafts, incidents, personalize, plan
from herald.services.blanks import draft_context, incident_blanks, pack_for
from herald.services.common import find_incident
from herald.services.context import Herald
from herald.services.drafts import DraftConflict
from herald.store.draft_models import Draft
from herald.templates.engine import Pack, TemplateProblem
from tests.helpers import (
    BUDDY,
    FACTS,
    LEAD,
    MESSENGER,
    fill_facts,
    new_incident,
    staff,
)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)  # the FixedClock's start
CHANNEL = "https://chat.example.com/archives/C042"
# Blanks the plan does not hold (or the messenger words their own way): given when
# writing the draft, they win over anything Herald would fill in.
EXTRAS = {"sheet_link": "https://sheets.example.com/d/ce-round", "column": "F",
          "deadline_utc": "2026-01-01 15:00 UTC", "send_time_utc": "16:00",
          "send_date": "2026-01-02",
          "status_page_proposal": "no status page post, as only 35% of self-hosted customers "
                                  "are impacted",
          "question": "Do we need to restart the search service after the upgrade?",
          "answer": "No, the upgrade to 5.2.1 is enough",
          "customers": "Two customers",
          "postmortem_link": "https://docs.example.com/postmortems/inc-1",
          "reviewer_mentions": "@buddy", "reason": "there is no answer from you yet",
          "due_at": "2026-01-04 09:00 UTC", "deadline_state": "in 5h 12m", "hours": "4",
          "followup_link": "http://localhost:8400/incidents/inc-1/followup"}
SECURITY_ONLY = {"chat_security_team", "chat_cs_leadership_security",
                 "chat_review_incident_lead_security"}
# A security incident never goes on the status page and has its own review requests.
NOT_FOR_SECURITY = {"chat_review_support", "chat_review_incident_lead"}
KINDS = Pack().kinds()  # the default pack

# What each kind of the spec misses at least on an incident that has only a number and a
# messenger (Herald may fill more from elsewhere, e.g. the send time from the timeline).
MISSING_WHEN_EMPTY: dict[str, set[str]] = {
    "chat_buddy_request": set(),
    "chat_ce_help": {"impact_condition", "sheet_link", "column", "deadline_utc"},
    "chat_claim": set(),
    "chat_cs_leadership_security": set(),
    "chat_inform_ce_helped": {"incident_channel"},
    "chat_inform_ce_no_help": {"incident_channel"},
    "chat_review_incident_lead": {"incident_lead_mention"},
    "chat_review_incident_lead_security": {"incident_lead_mention", "security_lead_mention"},
    "chat_review_legal": {"incident_channel"},
    "chat_review_marketing": {"incident_channel"},
    "chat_review_support": {"incident_channel", "buddy_mention"},
    "chat_security_team": set(),
    "email_determine_impact": {"release", "causes", "impact_condition", "how_to_determine",
                               "remediation"},
    "email_impact_known": {"release", "causes", "remediation"},
    "status_identified_1": set(),
    "status_identified_2": set(),
    "status_investigating": {"causes", "impact_condition"},
    "status_resolved_action": {"remediation"},
    "status_resolved_no_action": set(),
    "status_resolved_only": {"release", "causes", "impact_condition", "remediation"},
}
# Known on every incident from its own record and the settings.
ALWAYS_KNOWN = {"incident_ref", "plan_link", "support_address", "messenger_name"}


def complete_plan(h: Herald, *, security: bool = False) -> str:
    """An incident with every fact, the people in their roles and the incident channel."""
    ref = new_incident(h, security=security)
    staff(h, ref, "buddy", "incident_lead", *(["security_lead"] if security else []))
    fill_facts(h, ref)
    incidents.add_link(h, ref, "channel", CHANNEL, actor=MESSENGER)
    return ref


def findings_of(view: drafts.DraftView) -> list[tuple[str, str, str]]:
    """Findings with the text they point at, to read in an assertion message."""
    return [(f.kind, f.message, ((view.subject or "") if f.part == "subject" else view.body)
             [f.start:f.end]) for f in view.findings]


# --- every kind from the plan --------------------------------------------------------------


def test_the_pack_has_every_kind_of_the_spec() -> None:
    assert set(MISSING_WHEN_EMPTY) <= set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_from_a_complete_plan_with_no_findings(h: Herald, kind: str) -> None:
    ref = complete_plan(h, security=kind in SECURITY_ONLY)
    d = drafts.new_draft(h, ref, kind, actor=MESSENGER, extras=EXTRAS)
    assert d.findings == [], findings_of(d)
    assert not d.blocking
    assert (d.version, d.latest, d.by, d.at) == (1, 1, MESSENGER, T0)
    text = f"{d.subject or ''}\n{d.body}"
    assert "____" not in text
    template = pack_for(h).get(kind)
    for name in template.blanks:
        if name in FACTS:
            assert FACTS[name] in text, name  # the plan's own words are in the draft
    # only per-recipient blanks stay as template code, for the email of each recipient
    assert text.count("{{") == sum(text.count(f"{{{{ {n} }}}}")
                                   for n in ("customer_name", "contact_name"))
    assert (d.channel == "email") == ("{{ customer_name }}" in text)


def test_every_kind_a_security_incident_uses_is_clean_too(h: Herald) -> None:
    ref = complete_plan(h, security=True)
    dirty = {}
    for kind in KINDS:
        if kind in NOT_FOR_SECURITY or kind.startswith("status_"):
            continue
        d = drafts.new_draft(h, ref, kind, actor=MESSENGER, extras=EXTRAS)
        if d.findings:
            dirty[kind] = findings_of(d)
    assert dirty == {}


@pytest.mark.parametrize("kind", KINDS)
def test_every_missing_blank_is_named_from_an_incomplete_plan(h: Herald, kind: str) -> None:
    ref = new_incident(h, security=kind in SECURITY_ONLY)
    d = drafts.new_draft(h, ref, kind, actor=MESSENGER)
    template = pack_for(h).get(kind)
    # what Herald itself says is unknown for this incident
    with h.db.sessions() as s:
        known = incident_blanks(h, s, find_incident(s, ref))
    _context, missing = draft_context(template.blanks, template.optional, known)
    assert MISSING_WHEN_EMPTY.get(kind, set()) <= set(missing)  # at least these
    assert not set(missing) & ALWAYS_KNOWN
    text = f"{d.subject or ''}\n{d.body}"
    for name in missing:
        assert f"____ ({name.replace('_', ' ')})" in text, name
    assert text.count("____") == sum(text.count(f"____ ({n.replace('_', ' ')})")
                                     for n in missing)
    blocking = [f for f in d.findings if f.blocking]
    assert {f.message for f in blocking} == {f"unfilled blank {n!r}" for n in missing}
    assert d.blocking == bool(missing)
    for f in blocking:  # each finding points at its placeholder, in the subject or body
        source = d.subject if f.part == "subject" else d.body
        assert source is not None
        name = f.message.removeprefix("unfilled blank ").strip("'")
        assert source[f.start:f.end] == f"____ ({name.replace('_', ' ')})"


def test_filling_the_plan_later_fills_a_new_draft(h: Herald) -> None:
    ref = new_incident(h)
    first = drafts.new_draft(h, ref, "status_resolved_action", actor=MESSENGER)
    assert first.blocking and "____ (remediation)" in first.body
    plan.set_fact(h, ref, "remediation", "upgrade to 5.2.1", actor=MESSENGER, provided_by=LEAD)
    with pytest.raises(Conflict, match="already exists; edit it instead"):
        drafts.new_draft(h, ref, "status_resolved_action", actor=MESSENGER)
    d = drafts.new_draft(h, ref, "status_resolved_no_action", actor=MESSENGER)
    assert not d.blocking


# --- the status page proposal in the review request ---------------------------------------


def test_the_messenger_words_the_status_page_proposal_their_own_way(h: Herald) -> None:
    ref = complete_plan(h)
    d = drafts.new_draft(h, ref, "chat_review_support", actor=MESSENGER,
                         extras={"status_page_proposal": "a post, as the CS lead asked"})
    assert "About the status page, I propose: a post, as the CS lead asked." in d.body


# --- versions and diffs --------------------------------------------------------------------


def test_every_save_is_a_version_and_any_two_can_be_diffed(h: Herald) -> None:
    ref = complete_plan(h)
    v1 = drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER, extras=EXTRAS)
    h.clock.advance(minutes=5)  # type: ignore[attr-defined]
    v2_body = v1.body.replace("Here is how to fix it", "To fix it")
    drafts.save_draft(h, ref, "email_impact_known", body=v2_body, subject=v1.subject,
                      base_version=1, actor=BUDDY)
    h.clock.advance(minutes=5)  # type: ignore[attr-defined]
    v3_subject = "{{ customer_name }}: our 5.2.0 release affects you"
    v3 = drafts.save_draft(h, ref, "email_impact_known", body=v2_body + "\n\nP.S. Thanks.",
                           subject=v3_subject, base_version=2, actor=MESSENGER)
    assert (v3.version, v3.latest) == (3, 3)
    assert [(v.number, v.by, v.at) for v in v3.versions] == [
        (1, MESSENGER, T0), (2, BUDDY, T0 + timedelta(minutes=5)),
        (3, MESSENGER, T0 + timedelta(minutes=10))]
    old = drafts.get_draft(h, ref, "email_impact_known", version=1)
    assert (old.body, old.subject, old.version, old.latest) == (v1.body, v1.subject, 1, 3)
    assert drafts.get_draft(h, ref, "email_impact_known", version=2).body == v2_body
    assert drafts.count_versions(h, ref, "email_impact_known") == 3

    one_three = drafts.diff_versions(h, ref, "email_impact_known", 1, 3).splitlines()
    assert one_three[:2] == ["--- email_impact_known v1", "+++ email_impact_known v3"]
    assert f"-Subject: {v1.subject}" in one_three
    assert f"+Subject: {v3_subject}" in one_three
    assert "-Here is how to fix it: upgrade to 5.2.1." in one_three
    assert "+To fix it: upgrade to 5.2.1." in one_three
    assert "+P.S. Thanks." in one_three
    three_one = drafts.diff_versions(h, ref, "email_impact_known", 3, 1).splitlines()
    assert "-P.S. Thanks." in three_one and "+Here is how to fix it: upgrade to 5.2.1." in \
        three_one
    two_three = drafts.diff_versions(h, ref, "email_impact_known", 2, 3)
    assert "Here is how to fix it" not in two_three and "+P.S. Thanks." in two_three
    assert drafts.diff_versions(h, ref, "email_impact_known", 2, 2) == ""
    with pytest.raises(NotFound, match=r"has no version 4 \(latest is 3\)"):
        drafts.diff_versions(h, ref, "email_impact_known", 1, 4)


def test_saving_the_same_text_adds_no_version_and_windows_line_ends_are_folded(
        h: Herald) -> None:
    ref = complete_plan(h)
    d = drafts.new_draft(h, ref, "chat_claim", actor=MESSENGER)
    same = drafts.save_draft(h, ref, "chat_claim", body=d.body, subject=None, base_version=1,
                             actor=BUDDY)
    assert same.latest == 1
    crlf = drafts.save_draft(h, ref, "chat_claim", body="Line one.\r\nLine two.",
                             subject=None, base_version=1, actor=BUDDY)
    assert (crlf.latest, crlf.body) == (2, "Line one.\nLine two.")


def test_a_draft_that_does_not_exist_says_how_to_make_it(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(NotFound, match=r"no chat_claim draft yet .*`draft new`"):
        drafts.get_draft(h, ref, "chat_claim")


# --- conflicts: both texts shown, nothing lost ---------------------------------------------


def test_two_saves_from_the_same_version_end_in_a_conflict_and_nothing_is_lost(
        h: Herald) -> None:
    ref = complete_plan(h)
    base = drafts.new_draft(h, ref, "status_investigating", actor=MESSENGER)
    # both open version 1
    alice_text = base.body + " We will post again within 30 minutes."
    bob_text = base.body.replace("We are working on a fix now.", "A fix is under way.")
    h.clock.advance(minutes=1)  # type: ignore[attr-defined]
    saved = drafts.save_draft(h, ref, "status_investigating", body=alice_text, subject=None,
                              base_version=1, actor=BUDDY)
    assert saved.version == 2
    h.clock.advance(minutes=1)  # type: ignore[attr-defined]
    with pytest.raises(DraftConflict) as err:
        drafts.save_draft(h, ref, "status_investigating", body=bob_text, subject=None,
                          base_version=1, actor=LEAD)
    c = err.value
    assert (c.mine, c.theirs, c.base, c.latest, c.by) == (bob_text, alice_text, 1, 2, BUDDY)
    assert str(c) == (f"status_investigating: {BUDDY} saved version 2 while you were editing "
                      "version 1. Your text is kept; compare both and save again.")
    assert isinstance(c, Conflict)
    # the first save stands; the refused text is parked, not lost
    now = drafts.get_draft(h, ref, "status_investigating")
    assert (now.latest, now.body, now.by) == (2, alice_text, BUDDY)
    parked = drafts.parked_texts(h, ref, "status_investigating")
    assert parked == [{"based_on": 1, "by": LEAD, "at": T0 + timedelta(minutes=2),
                       "subject": None, "body": bob_text}]
    # Bob merges both and saves on top of Alice's version
    merged = bob_text + " We will post again within 30 minutes."
    h.clock.advance(minutes=1)  # type: ignore[attr-defined]
    final = drafts.save_draft(h, ref, "status_investigating", body=merged, subject=None,
                              base_version=c.latest, actor=LEAD)
    assert (final.version, final.by) == (3, LEAD)
    # every text anyone typed can still be read
    texts = [drafts.get_draft(h, ref, "status_investigating", version=n).body
             for n in (1, 2, 3)]
    assert texts == [base.body, alice_text, merged]
    assert [p["body"] for p in drafts.parked_texts(h, ref, "status_investigating")] == [
        bob_text]


def test_each_refused_save_is_parked_newest_first(h: Herald) -> None:
    ref = complete_plan(h)
    drafts.new_draft(h, ref, "chat_claim", actor=MESSENGER)
    drafts.save_draft(h, ref, "chat_claim", body="Mine first.", subject=None, base_version=1,
                      actor=MESSENGER)
    for n, who in ((1, BUDDY), (1, LEAD)):
        h.clock.advance(minutes=1)  # type: ignore[attr-defined]
        with pytest.raises(DraftConflict):
            drafts.save_draft(h, ref, "chat_claim", body=f"From {who}.", subject=None,
                              base_version=n, actor=who)
    assert [(p["by"], p["body"]) for p in drafts.parked_texts(h, ref, "chat_claim")] == [
        (LEAD, f"From {LEAD}."), (BUDDY, f"From {BUDDY}.")]
    assert drafts.get_draft(h, ref, "chat_claim").latest == 2


# --- what a draft may contain --------------------------------------------------------------


def test_a_draft_using_an_unknown_variable_is_refused_with_a_clear_message(h: Herald) -> None:
    ref = complete_plan(h)
    drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER)
    body = "Hello {{ contact_name }},\n\nUpgrade {{ release }} now, {{ customer_name }}."
    with pytest.raises(TemplateProblem) as err:
        drafts.save_draft(h, ref, "email_impact_known", body=body, subject="Hi",
                          base_version=1, actor=MESSENGER)
    p = err.value
    assert (p.name, p.line) == ("email_impact_known", 3)
    assert str(p) == ("template email_impact_known:3: body uses release; a draft may only use "
                      "customer_name, contact_name, ce_name, ae_name, must_act, "
                      "messenger_name")
    with pytest.raises(TemplateProblem, match="subject uses product; a draft may only use"):
        drafts.save_draft(h, ref, "email_impact_known", body="Hello.",
                          subject="{{ product }} news", base_version=1, actor=MESSENGER)
    assert drafts.get_draft(h, ref, "email_impact_known").latest == 1
    assert drafts.parked_texts(h, ref, "email_impact_known") == []


@pytest.mark.parametrize(("body", "message"), [
    ("Hi {{ contact_name.__class__.__mro__ }}", "refused by the sandbox"),
    ("Hi {{ customer_name|attr('__class__') }}", "refused by the sandbox"),
    ("Hi {{ cycler.__init__.__globals__ }}", "uses cycler"),
    ("Hi {{ range(3)|list }}", "uses range"),
    ("Hi {{ contact_name.func_globals }}", "no attribute 'func_globals'"),
    ("Hi\n{% if must_act %}Act now.", "'endif'"),
])
def test_a_draft_that_could_not_be_sent_is_refused_when_saved(
        h: Herald, body: str, message: str) -> None:
    ref = complete_plan(h)
    drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER)
    with pytest.raises(TemplateProblem, match="email_impact_known") as err:
        drafts.save_draft(h, ref, "email_impact_known", body=body, subject="Hi",
                          base_version=1, actor=MESSENGER)
    assert message in err.value.message
    assert drafts.get_draft(h, ref, "email_impact_known").latest == 1


def test_a_sandbox_escape_in_a_team_template_makes_no_draft(h: Herald, tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "status_investigating.j2").write_text(
        '+++\ntitle = "Ours"\naudience = "customer"\nchannel = "status_page"\n'
        '[blanks]\ncauses = "What."\n+++\nIt causes {{ causes }}.\n'
        "{{ cycler.__init__.__globals__.os.system('id') }}\n", encoding="utf-8")
    h.settings.templates = team
    ref = complete_plan(h)
    with pytest.raises(TemplateProblem) as err:
        drafts.new_draft(h, ref, "status_investigating", actor=MESSENGER)
    assert (err.value.name, err.value.line) == ("status_investigating.j2", 9)
    assert "refused by the sandbox" in err.value.message
    with h.db.sessions() as s:
        assert s.query(Draft).count() == 0
    # the team's other kinds and the defaults still work
    d = drafts.new_draft(h, ref, "status_resolved_only", actor=MESSENGER)
    assert not d.blocking


def test_a_team_template_overrides_the_default_in_new_drafts(h: Herald, tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "chat_claim.j2").write_text(
        '+++\ntitle = "Our claim"\naudience = "internal"\nchannel = "chat"\n'
        '[blanks]\nincident_ref = "The incident."\n+++\nOn it: {{ incident_ref }}.\n',
        encoding="utf-8")
    h.settings.templates = team
    ref = new_incident(h)
    d = drafts.new_draft(h, ref, "chat_claim", actor=MESSENGER)
    assert (d.title, d.body) == ("Our claim", "On it: inc-1.")


# --- per-recipient emails ------------------------------------------------------------------

HEADER = ["Account Name", "Account ID", "Deployment Type", "Contact Name", "Email",
          "Incident Contact", "CE Name", "CE Email", "Account Owner", "AE Email", "Impacted"]
SCRIPT = "<script>alert(1)</script>"
CRLF_NAME = "Evil Corp\r\nBcc: evil@example.com"


def import_customers(h: Herald, ref: str, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    contact_import.import_file(h, ref, Path("crm.csv"), source="crm", actor=MESSENGER,
                               data=out.getvalue().encode("utf-8"))


def test_each_recipient_gets_a_personal_email_and_hostile_names_stay_harmless(
        h: Herald) -> None:
    ref = complete_plan(h)
    import_customers(h, ref, [
        ["Good Co", "0015g000001", "cloud", "Dana Good", "dana@good.example", "yes",
         "Carla CE", "carla@vendor.example", "Aaron AE", "aaron@vendor.example", "yes"],
        [CRLF_NAME, "0015g000002", "self-hosted", SCRIPT, "ev@evil.example", "yes",
         "Carla CE", "carla@vendor.example", "Aaron AE", "aaron@vendor.example", "yes"],
        ["Quiet Ltd", "0015g000003", "cloud", "Quinn", "quinn@quiet.example", "yes",
         "Carla CE", "carla@vendor.example", "Aaron AE", "aaron@vendor.example", "no"],
    ])
    d = drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER)
    people = personalize.recipients(h, ref)
    assert sorted(p.email for p in people) == ["dana@good.example", "ev@evil.example"]

    good = personalize.preview(h, ref, "email_impact_known", recipient="DANA@good.example ")
    assert good.to == "dana@good.example"
    assert good.cc == ["carla@vendor.example", "aaron@vendor.example", "support@example.com"]
    assert good.subject == "Good Co: an issue in our 5.2.0 release affects you"
    assert good.body.startswith("Hello Dana Good,\n\nWe found an issue in our 5.2.0 release")
    assert "it affects Good Co." in good.body

    evil = personalize.preview(h, ref, "email_impact_known", recipient="ev@evil.example")
    assert "\r" not in evil.subject and "\n" not in evil.subject
    assert evil.subject == "Evil Corp Bcc: evil@example.com: an issue in our 5.2.0 release " \
                           "affects you"
    assert evil.to == "ev@evil.example" and "evil@example.com" not in evil.cc
    assert evil.body.startswith(f"Hello {SCRIPT},")  # plain text; pages escape it
    # the draft itself is untouched by any recipient
    assert drafts.get_draft(h, ref, "email_impact_known").body == d.body
    with pytest.raises(NotFound, match=r"quinn@quiet\.example is not among"):
        personalize.preview(h, ref, "email_impact_known", recipient="quinn@quiet.example")


def test_a_draft_signed_with_the_messenger_blank_renders_for_recipients(h: Herald) -> None:
    ref = complete_plan(h)
    import_customers(h, ref, [
        ["Good Co", "0015g000001", "cloud", "Dana Good", "dana@good.example", "yes",
         "Carla CE", "carla@vendor.example", "Aaron AE", "aaron@vendor.example", "yes"]])
    drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER)
    drafts.save_draft(h, ref, "email_impact_known",
                      body="Hello {{ contact_name }},\n\nThanks.\n\n{{ messenger_name }}",
                      subject="{{ customer_name }}: news", base_version=1, actor=MESSENGER)
    mail = personalize.preview(h, ref, "email_impact_known")
    assert mail.body == "Hello Dana Good,\n\nThanks.\n\nmessenger@example.com"


def test_the_must_act_blank_follows_the_plan(h: Herald) -> None:
    ref = complete_plan(h)  # customer_must_act = yes
    import_customers(h, ref, [
        ["Good Co", "0015g000001", "cloud", "Dana Good", "dana@good.example", "yes",
         "Carla CE", "carla@vendor.example", "Aaron AE", "aaron@vendor.example", "yes"]])
    drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER)
    drafts.save_draft(h, ref, "email_impact_known",
                      body="Hi {{ contact_name }}.{% if must_act %} Please upgrade.{% endif %}",
                      subject="News", base_version=1, actor=MESSENGER)
    assert personalize.preview(h, ref, "email_impact_known").body == \
        "Hi Dana Good. Please upgrade."
    plan.set_fact(h, ref, "customer_must_act", "no", actor=MESSENGER)
    assert personalize.preview(h, ref, "email_impact_known").body == "Hi Dana Good."


def test_preview_without_recipients_says_why(h: Herald) -> None:
    ref = complete_plan(h)
    drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER)
    with pytest.raises(NotFound, match="nobody to preview"):
        personalize.preview(h, ref, "email_impact_known")
