"""The buddy's second pair of eyes: what the proofreader catches, where, and what it lets be."""

from __future__ import annotations

import pytest

from herald.proofread import (
    DraftFacts,
    Finding,
    check_blanks,
    check_consistency,
    check_length,
    check_readability,
    check_spelling,
    check_style,
    proofread,
)

CHAT = DraftFacts(customer_facing=False)
EMAIL = DraftFacts(customer_facing=True, is_email=True, support_address="support@example.com")
STATUS = DraftFacts(customer_facing=True, support_address="support@example.com")
SECURITY_EMAIL = DraftFacts(customer_facing=True, is_email=True, security=True,
                            support_address="support@example.com")


def at(text: str, f: Finding) -> str:
    """The text a finding points at."""
    return text[f.start:f.end]


def where(text: str, needle: str) -> tuple[int, int]:
    """Line and column (1-based) of the first occurrence of needle, counted by hand."""
    offset = text.index(needle)
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def only(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


# --- spelling ------------------------------------------------------------------------------


def test_seeded_typos_are_caught_where_they_are_with_a_correction() -> None:
    text = "Hello,\n\nPlease check teh search index.\nYou will recieve a fix tomorrow."
    found = check_spelling(text)
    assert [at(text, f) for f in found] == ["teh", "recieve"]
    teh, recieve = found
    assert (teh.line, teh.column) == where(text, "teh") == (3, 14)
    assert (recieve.line, recieve.column) == where(text, "recieve") == (4, 10)
    assert teh.suggestion is not None and "'the'" in teh.suggestion
    assert recieve.suggestion is not None and "'receive'" in recieve.suggestion
    assert all(f.severity == "warning" and not f.blocking for f in found)
    assert "unknown word 'teh'" in teh.message


def test_the_vocabulary_setting_silences_a_product_name() -> None:
    text = "Upgrade Zorblax to 5.2.1 and restart the Zorblax workers."
    assert [at(text, f) for f in check_spelling(text)] == ["Zorblax", "Zorblax"]
    assert check_spelling(text, frozenset({"Zorblax"})) == []
    assert check_spelling(text, frozenset({"zorblax"})) == []  # case does not matter
    # the vocabulary silences that word only, not the typos around it
    typo = "Upgrade Zorblax, then recieve the fix."
    assert [at(typo, f) for f in check_spelling(typo, frozenset({"Zorblax"}))] == ["recieve"]
    # and the whole proofreader passes it on
    assert only(proofread(text, CHAT, vocabulary=frozenset({"Zorblax"})), "spelling") == []


def test_links_addresses_blanks_and_acronyms_are_not_spell_checked() -> None:
    text = ("Hello {{ contact_name }}, see https://status.example.com/incidents/xqzv or write "
            "to helpdesk-qwzx@example.com about the SSOQ change.")
    assert check_spelling(text) == []


# --- blanks and placeholders ---------------------------------------------------------------


@pytest.mark.parametrize(("needle", "what"), [
    ("____", "an unfilled blank"),
    ("{{ foo }}", "template code left in the text"),
    ("TODO", "a to-do marker"),
    ("[link]", "a link placeholder"),
    ("inc-##", "an incident number placeholder"),
])
def test_each_kind_of_placeholder_blocks_approval(needle: str, what: str) -> None:
    text = f"Hello {{{{ contact_name }}}},\n\nThe fix ships in {needle} today.\n"
    found = check_blanks(text)
    assert len(found) == 1, found
    f = found[0]
    assert at(text, f) == needle
    assert (f.line, f.column) == where(text, needle) == (3, 18)
    assert f.message.startswith(what)
    assert f.blocking and f.severity == "error" and f.kind == "blank"
    assert f.suggestion == "fill it in or remove it"


def test_every_placeholder_in_one_text_is_found_in_order() -> None:
    text = ("TODO: check the wording\n"
            "The post is at [link] and the channel is [slack channel].\n"
            "Ticket inc-### was opened on yyyy-mm-dd by ____ ({{ reporter }}).")
    found = check_blanks(text)
    assert sorted(at(text, f) for f in found) == sorted([
        "TODO", "[link]", "[slack channel]", "inc-###", "yyyy-mm-dd", "____",
        "{{ reporter }}"])
    for f in found:
        assert (f.line, f.column) == where(text, at(text, f))


def test_an_unfilled_blank_is_reported_by_its_name() -> None:
    text = "We found an issue in our ____ (release) release.\nIt causes ____ (causes)."
    found = check_blanks(text)
    assert [at(text, f) for f in found] == ["____ (release)", "____ (causes)"]
    assert ["'release'" in found[0].message, "'causes'" in found[1].message] == [True, True]
    assert (found[1].line, found[1].column) == (2, 11)
    assert all(f.blocking for f in found)


def test_per_recipient_blanks_are_allowed_but_nothing_else_in_braces() -> None:
    text = ("Hello {{ contact_name }}, this affects {{customer_name}}.\n"
            "{% if must_act %}Please act.{% endif %} {{ ce_name }} {{ ae_name }} "
            "{{ messenger_name }}")
    found = check_blanks(text)
    # the if-block is template code a reader would see if it ever leaked: flagged
    assert [at(text, f) for f in found] == ["{% if must_act %}", "{% endif %}"]
    assert check_blanks("Hello {{ contact_name }} and {{ customer_name.upper() }}") != []


def test_the_subject_is_checked_and_its_findings_point_into_the_subject() -> None:
    subject = "{{ customer_name }}: ____ (release) will recieve a fix"
    body = "Hello {{ contact_name }},\n\nThe fix is ready.\n\nMaya"
    findings = proofread(body, EMAIL, subject=subject)
    assert [(f.part, f.kind, subject[f.start:f.end]) for f in findings] == [
        ("subject", "blank", "____ (release)"), ("subject", "spelling", "recieve")]
    assert findings[0].blocking and findings[0].message == "unfilled blank 'release'"
    assert (findings[1].line, findings[1].column) == where(subject, "recieve")
    long_subject = "An issue in our release " * 4
    [length] = proofread(body, EMAIL, subject=long_subject)
    assert (length.part, length.kind) == ("subject", "length")
    # body findings say so too
    assert {f.part for f in proofread("teh fix", CHAT)} == {"body"}


# --- consistency ---------------------------------------------------------------------------


def test_a_status_page_mention_without_a_link_is_flagged() -> None:
    text = "Hello,\nThe steps are in our status page post.\n"
    found = only(check_consistency(text, EMAIL), "consistency")
    assert len(found) == 1
    assert at(text, found[0]) == "status page"
    assert (found[0].line, found[0].column) == where(text, "status page") == (2, 22)
    assert "no link" in found[0].message and found[0].severity == "warning"
    linked = text + "It is at https://status.example.com/p/1\n"
    assert check_consistency(linked, EMAIL) == []


def test_a_security_incident_draft_mentioning_the_status_page_is_flagged_even_with_a_link(
) -> None:
    text = "Details are on our Status Page: https://status.example.com/p/1"
    found = check_consistency(text, SECURITY_EMAIL)
    assert len(found) == 1
    f = found[0]
    assert at(text, f) == "Status Page"
    assert f.severity == "error" and "security incident" in f.message
    assert f.suggestion == "remove the status page mention"
    assert not f.blocking  # the buddy judges it; only unfilled blanks block approval
    assert check_consistency("We will email each customer directly.", SECURITY_EMAIL) == []


@pytest.mark.parametrize(("text", "flagged"), [
    ("We start sending at 14:30.", "14:30"),
    ("Expect the fix by 9:05 pm today.", "9:05 pm"),
    ("Between 08:00 and 09:15 UTC searches failed.", "08:00"),
])
def test_a_time_without_utc_is_flagged(text: str, flagged: str) -> None:
    found = check_consistency(text, CHAT)
    assert [at(text, f) for f in found] == [flagged]
    assert found[0].suggestion == "add UTC"
    assert (found[0].line, found[0].column) == where(text, flagged)


@pytest.mark.parametrize("text", [
    "We start sending at 14:30 UTC.", "We start sending at 14:30UTC.",
    "At 14:30 (UTC) we start.", "Since 2026-01-01T14:30Z.", "At 14:30 GMT.",
    "Version 5.2.1 is out.",
])
def test_times_with_a_zone_and_plain_numbers_pass(text: str) -> None:
    assert check_consistency(text, CHAT) == []


def test_a_customer_post_without_the_support_address_is_flagged() -> None:
    found = check_consistency("We are working on a fix.", STATUS)
    assert [f.message for f in found] == [
        "the support address support@example.com is missing"]
    assert check_consistency("Questions? Write to support@example.com.", STATUS) == []
    # emails copy support, and internal chat messages are not for customers
    assert check_consistency("We are working on a fix.", EMAIL) == []
    assert check_consistency("We are working on a fix.", CHAT) == []


# --- length, readability, style ------------------------------------------------------------


def test_a_too_long_email_is_flagged_and_a_chat_message_has_a_shorter_limit() -> None:
    sentence = "We fixed the search index for your team. "  # 8 words
    long_email = sentence * 28  # 224 words
    found = check_length(long_email, is_email=True)
    assert [f.message for f in found] == ["224 words; keep it under 220"]
    assert check_length(sentence * 27, is_email=True) == []  # 216 words
    assert [f.message for f in check_length(sentence * 16, is_email=False)] == [
        "128 words; keep it under 120"]
    subject = "An issue in our release " * 4  # 96 characters
    assert [f.message for f in check_length("Hi.", is_email=True, subject=subject)] == [
        f"the subject has {len(subject)} characters; keep it under 90"]
    assert only(proofread(long_email, EMAIL), "length") == found


def test_a_hard_text_gets_a_readability_warning_and_a_plain_one_does_not() -> None:
    hard = ("Notwithstanding comprehensive organisational considerations, administrative "
            "reconfiguration necessitates immediate infrastructural reconsideration, "
            "particularly regarding authentication, authorisation, synchronisation, "
            "notification and prioritisation methodologies affecting international "
            "subsidiaries' operational continuity. Consequently, organisational "
            "representatives should familiarise themselves with the documentation.")
    found = check_readability(hard)
    assert len(found) == 1 and found[0].kind == "readability"
    assert "reading ease" in found[0].message
    plain = ("We found a bug in search. It hides new repositories from results. "
             "A fix is ready. Upgrade to 5.2.1 to get it. Then search works again. "
             "Write to us if you need help.")
    assert check_readability(plain) == []


def test_links_and_handles_do_not_count_as_hard_words() -> None:
    # Plain sentences; only the links, addresses and chat handles are long "words".
    text = ("@marketing-incident I'm the messenger for inc-1 "
            "(https://chat.example.com/archives/C042). The plan is here: "
            "http://localhost:8400/incidents/inc-1/plan. You can review the draft messages "
            "or ask questions. Write to buddy@example.com if you like. Thank you!")
    assert check_readability(text) == []


def test_style_advice_is_positioned_and_dates_are_not_a_repeated_word() -> None:
    text = "Thanks.\nPlease send it to to the team."
    found = check_style(text)
    assert [at(text, f) for f in found] == ["to to"]
    assert (found[0].line, found[0].column) == (2, 16)
    assert found[0].severity == "note" and not found[0].blocking
    # "2026-01-01 15:00" is a date and a time, not a word said twice
    assert check_style("We need your answers by 2026-01-01 15:00 UTC. Thank you!") == []


# --- the whole proofreader -----------------------------------------------------------------


def test_a_clean_message_has_no_findings() -> None:
    text = ("Hello {{ contact_name }},\n\nWe found an issue in our 5.2.0 release. It affects "
            "{{ customer_name }}. Upgrade to 5.2.1 to fix it.\n\nIf anything is unclear, "
            "reply to this email.\n\nMaya")
    assert proofread(text, EMAIL, subject="{{ customer_name }}: an issue in 5.2.0") == []


def test_findings_come_sorted_by_position_and_only_blanks_block() -> None:
    text = "TODO teh fix ships at 14:30.\nThe status page has it."
    found = proofread(text, STATUS)
    assert [f.start for f in found] == sorted(f.start for f in found)
    kinds = {f.kind for f in found}
    assert {"blank", "spelling", "consistency"} <= kinds
    assert [f.kind for f in found if f.blocking] == ["blank"]
    assert proofread("", STATUS)  # an empty customer post still lacks the support address


def test_a_hyphenated_word_of_the_trade_is_known() -> None:
    assert check_spelling("We will share the post-mortem and the postmortems.") == []
