"""Template packs: the default kinds, team overrides, the sandbox, and per-recipient rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from herald.services.blanks import draft_context
from herald.services.personalize import Personalizer, Recipient
from herald.templates.engine import (
    DEFAULT_PACK,
    Pack,
    TemplateProblem,
    parse_template,
    render_source,
)

# SPEC.md section 5, one template per kind: customer-facing first, then internal chat.
# (Later features add kinds of their own to the pack; these must always be there.)
SPEC_KINDS = {
    "status_resolved_only": ("customer", "status_page"),
    "status_investigating": ("customer", "status_page"),
    "status_identified_1": ("customer", "status_page"),
    "status_identified_2": ("customer", "status_page"),
    "status_resolved_no_action": ("customer", "status_page"),
    "status_resolved_action": ("customer", "status_page"),
    "email_impact_known": ("customer", "email"),
    "email_determine_impact": ("customer", "email"),
    "chat_ce_help": ("internal", "chat"),
    "chat_review_support": ("internal", "chat"),
    "chat_review_incident_lead": ("internal", "chat"),
    "chat_review_incident_lead_security": ("internal", "chat"),
    "chat_review_marketing": ("internal", "chat"),
    "chat_review_legal": ("internal", "chat"),
    "chat_inform_ce_helped": ("internal", "chat"),
    "chat_inform_ce_no_help": ("internal", "chat"),
    "chat_claim": ("internal", "chat"),
    "chat_buddy_request": ("internal", "chat"),
    "chat_security_team": ("internal", "chat"),
    "chat_cs_leadership_security": ("internal", "chat"),
}

KINDS = Pack().kinds()  # the default pack as it is now

FRONT = """+++
title = "Team: {title}"
audience = "customer"
channel = "status_page"

[blanks]
release = "The release."
+++
"""  # eight lines: the body's first line is line 9 of the file
BODY_LINE = 9


def team_file(folder: Path, kind: str, body: str, front: str = FRONT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}.j2"
    path.write_text(front.replace("{title}", kind) + body, encoding="utf-8")
    return path


def render(pack: Pack, kind: str, known: dict[str, Any]) -> str:
    """What new_draft does with a template, without the database."""
    template = pack.get(kind)
    problems = pack.check(template)
    if problems:
        raise problems[0]
    context, _missing = draft_context(template.blanks, template.optional, known)
    return render_source(pack.env, template.path.name, template.source, context)


# --- the default pack ----------------------------------------------------------------------


def test_the_default_pack_has_every_kind_of_the_spec() -> None:
    pack = Pack()
    assert set(SPEC_KINDS) <= set(pack.kinds())
    for kind, (audience, channel) in SPEC_KINDS.items():
        t = pack.get(kind)
        assert (t.audience, t.channel) == (audience, channel), kind


@pytest.mark.parametrize("kind", KINDS)
def test_every_default_template_checks_clean_and_describes_itself(kind: str) -> None:
    pack = Pack()
    t = pack.get(kind)
    assert pack.check(t) == []
    assert t.title and t.path == DEFAULT_PACK / f"{kind}.j2"
    assert t.audience in {"customer", "internal"} and t.channel in {"email", "chat",
                                                                    "status_page"}
    assert all(text.strip() for text in t.all_blanks.values()), kind
    assert (t.subject is not None) == (t.channel == "email"), kind


def test_line_numbers_match_the_file_because_front_matter_becomes_blank_lines() -> None:
    t = Pack().get("email_impact_known")
    file_lines = t.path.read_text(encoding="utf-8").splitlines()
    body_lines = t.source.splitlines()
    assert len(body_lines) == len(file_lines)
    first = next(i for i, line in enumerate(body_lines) if line.strip())
    assert body_lines[first] == file_lines[first] == "Hello {{ contact_name }},"


# --- team packs ----------------------------------------------------------------------------


def test_a_team_template_overrides_the_default_of_the_same_kind(tmp_path: Path) -> None:
    team = tmp_path / "team"
    mine = team_file(team, "status_identified_1", "Still on it: {{ release }}.")
    extra = team_file(team, "status_team_only", "Our own post about {{ release }}.")
    pack = Pack(folders=[team, DEFAULT_PACK])
    assert pack.path("status_identified_1") == mine
    assert pack.get("status_identified_1").title == "Team: status_identified_1"
    assert pack.path("status_team_only") == extra
    assert pack.path("email_impact_known") == DEFAULT_PACK / "email_impact_known.j2"
    assert set(pack.kinds()) == set(KINDS) | {"status_team_only"}
    assert render(pack, "status_identified_1", {"release": "5.2.0"}) == "Still on it: 5.2.0."


def test_a_missing_team_folder_leaves_the_defaults(tmp_path: Path) -> None:
    pack = Pack(folders=[tmp_path / "nowhere", DEFAULT_PACK])
    assert pack.kinds() == KINDS


def test_an_unknown_kind_names_the_kinds_there_are() -> None:
    with pytest.raises(Exception, match="no template 'email_nope'; templates are: chat_"):
        Pack().get("email_nope")


# --- the sandbox ---------------------------------------------------------------------------


@pytest.mark.parametrize(("expression", "refusal"), [
    ("{{ ''.__class__.__mro__ }}", "refused by the sandbox"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "refused by the sandbox"),
    ("{{ cycler.__init__.__globals__ }}", "refused by the sandbox"),
    ("{{ joiner.__init__.__globals__.os }}", "refused by the sandbox"),
    ("{{ self.__init__.__globals__ }}", "refused by the sandbox"),
    ("{{ release.__class__ }}", "refused by the sandbox"),
    ("{{ release|attr('__class__') }}", "refused by the sandbox"),
    ("{{ '{0.__class__}'.format(release) }}", "refused by the sandbox"),
    ("{% set seen = [] %}{{ seen.append(1) }}", "refused by the sandbox"),
    ("{{ lipsum.func_globals }}", "no attribute 'func_globals'"),
    ("{{ release.func_globals }}", "no attribute 'func_globals'"),
])
def test_a_sandbox_escape_in_a_team_template_is_refused_with_name_and_line(
        tmp_path: Path, expression: str, refusal: str) -> None:
    body = f"Our release {{{{ release }}}} is out.\n\nDetails: {expression}\n"
    team_file(tmp_path / "team", "status_identified_1", body)
    pack = Pack(folders=[tmp_path / "team", DEFAULT_PACK])
    with pytest.raises(TemplateProblem) as err:
        render(pack, "status_identified_1", {"release": "5.2.0"})
    problem = err.value
    assert problem.name == "status_identified_1.j2"
    assert problem.line == BODY_LINE + 2
    assert refusal in problem.message
    assert str(problem).startswith(f"template status_identified_1.j2:{BODY_LINE + 2}: ")


def test_a_syntax_error_is_reported_with_name_and_line(tmp_path: Path) -> None:
    body = "Line one.\nThe fix is in {{ release }.\nLine three.\n"
    path = team_file(tmp_path / "team", "status_investigating", body)
    pack = Pack(folders=[tmp_path / "team", DEFAULT_PACK])
    problems = pack.check(pack.get("status_investigating"))
    assert len(problems) == 1
    p = problems[0]
    assert (p.name, p.line) == (path.name, BODY_LINE + 1)
    assert p.message.startswith("body: syntax error: unexpected '}'")
    with pytest.raises(TemplateProblem, match=rf"status_investigating\.j2:{BODY_LINE + 1}: "):
        render(pack, "status_investigating", {"release": "5.2.0"})


def test_an_unclosed_block_is_a_syntax_error_saying_what_to_close(tmp_path: Path) -> None:
    body = "Line one.\n{% if release %}\nThe fix is in {{ release }}.\n"
    team_file(tmp_path / "team", "status_investigating", body)
    pack = Pack(folders=[tmp_path / "team", DEFAULT_PACK])
    [p] = pack.check(pack.get("status_investigating"))
    assert p.name == "status_investigating.j2"
    assert p.line is not None and BODY_LINE <= p.line <= BODY_LINE + 2
    assert "syntax error" in p.message and "'endif'" in p.message


def test_an_unknown_blank_is_reported_where_it_is_used_not_where_the_word_is(
        tmp_path: Path) -> None:
    # "causes" is a word in the first line of prose; the blank is used on the third.
    body = "What causes this is known.\nRelease {{ release }}.\nIt breaks {{ causes }}.\n"
    team_file(tmp_path / "team", "status_investigating", body)
    pack = Pack(folders=[tmp_path / "team", DEFAULT_PACK])
    problems = pack.check(pack.get("status_investigating"))
    assert [(p.name, p.line) for p in problems] == [("status_investigating.j2", BODY_LINE + 2)]
    assert problems[0].message == ("body uses 'causes', which the front matter does not name "
                                   "as a blank")


def test_an_unknown_blank_in_the_subject_is_named(tmp_path: Path) -> None:
    front = FRONT.replace('channel = "status_page"', 'channel = "email"\n'
                          'subject = "{{ release }} and {{ product }}"')
    team_file(tmp_path / "team", "email_team", "Hi {{ release }}.", front=front)
    pack = Pack(folders=[tmp_path / "team"])
    [problem] = pack.check(pack.get("email_team"))
    assert problem.name == "email_team.j2" and "subject uses 'product'" in problem.message


def test_front_matter_problems_name_the_file(tmp_path: Path) -> None:
    bare = tmp_path / "bare.j2"
    bare.write_text("No front matter here {{ release }}\n", encoding="utf-8")
    with pytest.raises(TemplateProblem) as err:
        parse_template(bare)
    assert (err.value.name, err.value.line) == ("bare.j2", 1)
    broken = tmp_path / "broken.j2"
    broken.write_text('+++\ntitle = "unclosed\n+++\nBody\n', encoding="utf-8")
    with pytest.raises(TemplateProblem, match=r"template broken\.j2: front matter"):
        parse_template(broken)


def test_a_blank_missing_at_render_time_is_named_with_its_line() -> None:
    env = Pack().env
    with pytest.raises(TemplateProblem) as err:
        render_source(env, "x.j2", "one\ntwo {{ release }}\n", {})
    assert (err.value.line, err.value.message) == (2, "unknown blank: 'release' is undefined")


# --- per-recipient rendering ---------------------------------------------------------------

SUBJECT = "{{ customer_name }}: an issue in our 5.2.0 release affects you"
BODY = ("Hello {{ contact_name }},\n\nIt affects {{ customer_name }}."
        "{% if must_act %} Please upgrade.{% endif %}\n\nYour CE {{ ce_name }} and AE "
        "{{ ae_name }} are copied.")


def recipient(**changes: Any) -> Recipient:
    values: dict[str, Any] = dict(
        email="ana@customer.example", contact_name="Ana", customer_name="Customer Ltd",
        account_id="0015g000001", ce_name="Carla CE", ce_email="carla@vendor.example",
        ae_name="Aaron AE", ae_email="aaron@vendor.example")
    return Recipient(**(values | changes))


def test_each_recipient_gets_their_own_email_copied_to_their_account_team() -> None:
    p = Personalizer.compile(BODY, SUBJECT, {"must_act": True}, "support@example.com")
    mail = p.render(recipient())
    assert mail.to == "ana@customer.example"
    assert mail.cc == ["carla@vendor.example", "aaron@vendor.example", "support@example.com"]
    assert mail.subject == "Customer Ltd: an issue in our 5.2.0 release affects you"
    assert mail.body == ("Hello Ana,\n\nIt affects Customer Ltd. Please upgrade.\n\n"
                         "Your CE Carla CE and AE Aaron AE are copied.")
    quiet = Personalizer.compile(BODY, SUBJECT, {"must_act": False}, "support@example.com")
    assert "Please upgrade" not in quiet.render(recipient()).body


def test_copies_skip_none_duplicates_and_the_recipient_themselves() -> None:
    p = Personalizer.compile(BODY, SUBJECT, {"must_act": True}, "support@example.com")
    r = recipient(ce_email="none", ae_email="support@example.com", email="ana@customer.example")
    assert p.render(r).cc == ["support@example.com"]
    own = recipient(email="carla@vendor.example")
    assert p.render(own).cc == ["aaron@vendor.example", "support@example.com"]


@pytest.mark.parametrize("name", [
    "Evil Corp\r\nBcc: evil@example.com",
    "Evil Corp\nBcc: evil@example.com",
    "Evil Corp\rBcc: evil@example.com",
    "Evil Corp\u2028Bcc: evil@example.com",
    "Evil Corp\x85Bcc: evil@example.com",
])
def test_line_breaks_in_a_customer_name_cannot_add_a_mail_header(name: str) -> None:
    p = Personalizer.compile(BODY, SUBJECT, {"must_act": True}, "support@example.com")
    mail = p.render(recipient(customer_name=name, contact_name=name))
    assert mail.subject == "Evil Corp Bcc: evil@example.com: an issue in our 5.2.0 release " \
                           "affects you"
    assert mail.subject.splitlines() == [mail.subject]
    assert "\r" not in mail.subject and "\n" not in mail.subject
    assert mail.to == "ana@customer.example" and "evil@example.com" not in mail.cc


def test_markup_and_template_code_in_names_stay_literal_text() -> None:
    p = Personalizer.compile(BODY, SUBJECT, {"must_act": True}, "support@example.com")
    script = "<script>alert(1)</script>"
    mail = p.render(recipient(contact_name=script,
                              customer_name="{{ ''.__class__.__mro__ }} {% raw %}"))
    # plain text out: the page that shows it escapes it; the name is never run as a template
    assert mail.body.startswith(f"Hello {script},")
    assert "It affects {{ ''.__class__.__mro__ }} {% raw %}." in mail.body
    assert mail.subject.startswith("{{ ''.__class__.__mro__ }} {% raw %}: an issue")


@pytest.mark.parametrize(("body", "message"), [
    ("Hi {{ contact_name.__class__.__mro__ }}", "unsafe"),
    ("Hi {{ cycler.__init__.__globals__ }}", "unsafe"),
    ("Hi {{ range(10)|list }}", "'range' is undefined"),
    ("Hi {{ contact_name.func_globals }}", "no attribute 'func_globals'"),
    ("Hi {{ unknown_blank }}", "'unknown_blank' is undefined"),
])
def test_a_draft_that_reaches_outside_its_blanks_is_refused_when_rendered(
        body: str, message: str) -> None:
    p = Personalizer.compile(body, None, {"must_act": True}, "support@example.com",
                             name="email_impact_known")
    with pytest.raises(TemplateProblem) as err:
        p.render(recipient())
    assert err.value.name == "email_impact_known" and message in err.value.message


def test_a_draft_with_broken_syntax_is_refused_when_compiled() -> None:
    with pytest.raises(TemplateProblem) as err:
        Personalizer.compile("Hi\n\nDear {{ contact_name },\n", None, {}, "s@example.com",
                             name="email_impact_known")
    assert (err.value.name, err.value.line) == ("email_impact_known", 3)
    assert "unexpected '}'" in err.value.message


def test_checking_a_pack_finds_what_the_sandbox_would_refuse(tmp_path: Path) -> None:
    team_file(tmp_path / "team", "status_identified_2",
              "Still on it.\n{{ release.__class__.__mro__ }}\n")
    pack = Pack(folders=[tmp_path / "team", DEFAULT_PACK])
    [problem] = pack.check(pack.get("status_identified_2"))
    assert (problem.name, problem.line) == ("status_identified_2.j2", BODY_LINE + 1)
    assert "refused by the sandbox" in problem.message
