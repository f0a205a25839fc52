"""Link codes and the /link and /unlink commands as every channel reads them: a code shown to a
user is the same code however it is typed back, nothing that is not a code passes, and a
sender id has one stored form (decision 0054)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.linking import (
    LINK_CODE_ALPHABET,
    LINK_CODE_LENGTH,
    LinkCommand,
    is_link_phrase,
    new_link_code,
    normalise_code,
    normalise_external_id,
    parse_link_command,
    shown_code,
)
from common.infrastructure.channels import Channel
from tests.tiers import examples

CODES = st.text(alphabet=LINK_CODE_ALPHABET, min_size=LINK_CODE_LENGTH, max_size=LINK_CODE_LENGTH)
SEPARATORS = st.sampled_from([" ", "-", "  ", " - ", "\u2013", "\t", ""])


@settings(max_examples=examples(200), deadline=None)
@given(code=CODES, cut=st.integers(0, LINK_CODE_LENGTH), sep=SEPARATORS, lower=st.booleans())
def test_a_code_typed_back_with_any_case_and_separators_is_the_code(
    code: str, cut: int, sep: str, lower: bool
) -> None:
    typed = f" {code[:cut]}{sep}{code[cut:]} "
    typed = typed.lower() if lower else typed
    assert normalise_code(typed) == code
    assert normalise_code(shown_code(code)) == code


@settings(max_examples=examples(300), deadline=None)
@given(typed=st.text(max_size=30))
def test_only_a_code_normalises_and_always_into_the_alphabet(typed: str) -> None:
    code = normalise_code(typed)
    if code is not None:
        assert len(code) == LINK_CODE_LENGTH and set(code) <= set(LINK_CODE_ALPHABET)


@pytest.mark.parametrize("typed", ["ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFG0", "ABCD-EFGI", "OOOO-1111"])
def test_near_codes_are_refused(typed: str) -> None:
    assert normalise_code(typed) is None


def test_a_new_code_is_shown_in_two_halves() -> None:
    code = new_link_code()
    assert normalise_code(code) == code
    assert shown_code(code) == f"{code[:4]}-{code[4:]}"
    assert len({new_link_code() for _ in range(50)}) == 50


@settings(max_examples=examples(200), deadline=None)
@given(code=CODES, sep=SEPARATORS, name=st.sampled_from(["link", "LINK", "Link"]))
def test_link_with_a_code_joins(code: str, sep: str, name: str) -> None:
    typed = f"{code[:4]}{sep}{code[4:]}"
    assert parse_link_command(f"/{name} {typed}") == LinkCommand("join", code)
    assert parse_link_command(f"/{name}@secretary_bot  {typed} ") == LinkCommand("join", code)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("/link", LinkCommand("issue")),
        ("  /link  ", LinkCommand("issue")),
        ("/link@secretary_bot", LinkCommand("issue")),
        ("link my accounts", LinkCommand("issue")),
        ("Link  my Accounts!", LinkCommand("issue")),
        ("/link banana", LinkCommand("join", None)),
        ("/unlink", LinkCommand("unlink")),
        ("/UNLINK whatever", LinkCommand("unlink")),
        ("/linked", None),
        ("please link my accounts and my calendar", None),
        ("hello", None),
        ("", None),
    ],
)
def test_commands_read_alike_in_every_channel(text: str, parsed: LinkCommand | None) -> None:
    assert parse_link_command(text) == parsed


@settings(max_examples=examples(300), deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_is_read_without_error(text: str) -> None:
    parsed = parse_link_command(text)
    if parsed is not None and parsed.action == "join" and parsed.code is not None:
        assert set(parsed.code) <= set(LINK_CODE_ALPHABET)
    if is_link_phrase(text):
        assert parsed == LinkCommand("issue")


@pytest.mark.parametrize(
    ("channel", "given_id", "stored"),
    [
        (Channel.EMAIL, " Ann.Lee@Example.COM ", "ann.lee@example.com"),
        (Channel.TELEGRAM, "00123", "123"),
        (Channel.SLACK, "T01ABC:U02DEF", "T01ABC:U02DEF"),
        (Channel.WHATSAPP, " 4915112345678 ", "4915112345678"),
        (Channel.WEB, "site/visitor 7", "site/visitor 7"),
    ],
)
def test_a_sender_id_has_one_stored_form(channel: Channel, given_id: str, stored: str) -> None:
    assert normalise_external_id(channel, given_id) == stored


@pytest.mark.parametrize(
    ("channel", "given_id"),
    [
        (Channel.TELEGRAM, "-5"),
        (Channel.TELEGRAM, "0"),
        (Channel.TELEGRAM, "١٢٣"),
        (Channel.TELEGRAM, str(2**63)),
        (Channel.EMAIL, "no-at-sign"),
        (Channel.EMAIL, "@example.com"),
        (Channel.WEB, "   "),
        (Channel.WEB, "x" * 256),
        (Channel.WEB, "nul\x00"),
    ],
)
def test_a_sender_id_that_cannot_be_one_is_refused(channel: Channel, given_id: str) -> None:
    with pytest.raises(ValueError):
        normalise_external_id(channel, given_id)


@settings(max_examples=examples(300), deadline=None)
@given(channel=st.sampled_from(list(Channel)), given_id=st.text(max_size=300))
def test_normalising_is_idempotent_or_refuses(channel: Channel, given_id: str) -> None:
    try:
        stored = normalise_external_id(channel, given_id)
    except ValueError:
        return
    assert normalise_external_id(channel, stored) == stored
