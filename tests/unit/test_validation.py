"""Field validators: every refusal is an InvalidInput that names its field (no AWS)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import validation as v
from chalicelib.errors import InvalidInput


def refused(call: Any, *args: Any, **kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    return caught.value


# --- only_fields ----------------------------------------------------------------------------


def test_only_fields_accepts_known_fields() -> None:
    v.only_fields({"name": "x"}, ["name", "kind"])
    v.only_fields({}, ["name"])


def test_only_fields_names_the_unknown_field() -> None:
    err = refused(v.only_fields, {"name": "x", "zeta": 1, "alpha": 2}, ["name"])

    assert err.field == "alpha"  # the first, sorted: a stable answer
    assert err.code == "UNKNOWN_FIELD"
    assert "alpha" in err.message


# --- text -----------------------------------------------------------------------------------


def test_text_returns_a_valid_value() -> None:
    assert v.text({"name": "Ada"}, "name", max_len=10) == "Ada"
    assert v.text({"name": "x" * 10}, "name", max_len=10) == "x" * 10


def test_text_strips_when_asked() -> None:
    assert v.text({"name": "  Ada  "}, "name", max_len=3, strip=True) == "Ada"
    assert v.text({"name": "  Ada  "}, "name", max_len=10) == "  Ada  "


def test_missing_required_text_names_the_field() -> None:
    err = refused(v.text, {}, "userId", max_len=10)

    assert err.field == "userId"
    assert err.code == "MISSING_FIELD"


def test_null_counts_as_missing() -> None:
    assert refused(v.text, {"userId": None}, "userId", max_len=10).code == "MISSING_FIELD"
    assert v.text({"avatar": None}, "avatar", max_len=10, required=False) is None
    assert v.text({}, "avatar", max_len=10, required=False) is None


@pytest.mark.parametrize("value", [1, 1.5, True, ["a"], {"a": 1}, b"bytes"])
def test_non_string_text_names_the_field(value: Any) -> None:
    err = refused(v.text, {"name": value}, "name", max_len=10)

    assert err.field == "name"
    assert err.code == "INVALID_INPUT"


@pytest.mark.parametrize("value", ["", "x" * 11])
def test_text_out_of_length_names_the_field(value: str) -> None:
    err = refused(v.text, {"name": value}, "name", max_len=10)

    assert err.field == "name"
    assert "1-10" in err.message


def test_whitespace_only_text_is_empty_after_strip() -> None:
    assert refused(v.text, {"name": "   "}, "name", max_len=10, strip=True).field == "name"


@pytest.mark.parametrize(
    "bad",
    ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\r", "\n", "\t", "\ud800"],
)
def test_control_characters_are_refused(bad: str) -> None:
    err = refused(v.text, {"name": f"Ada{bad}Lovelace"}, "name", max_len=50)

    assert err.field == "name"
    assert "control" in err.message


def test_newlines_and_tabs_pass_only_when_allowed() -> None:
    value = "line one\n\tline two"

    assert v.text({"body": value}, "body", max_len=50, allow_newlines=True) == value
    assert refused(v.text, {"body": value}, "body", max_len=50).field == "body"
    windows = "line one\r\nline two"  # Windows line endings are line breaks too
    assert v.text({"body": windows}, "body", max_len=50, allow_newlines=True) == windows
    assert refused(v.text, {"body": windows}, "body", max_len=50).field == "body"
    assert (
        refused(v.text, {"body": "a\x0bb"}, "body", max_len=50, allow_newlines=True).field == "body"
    )


def test_unicode_letters_and_emoji_are_fine() -> None:
    value = "Zoë 日本 🚀"

    assert v.text({"name": value}, "name", max_len=20) == value


@given(value=st.text(min_size=1, max_size=30))
def test_text_either_returns_the_value_or_names_the_field(value: str) -> None:
    try:
        result = v.text({"f": value}, "f", max_len=30)
    except InvalidInput as exc:
        assert exc.field == "f"
    else:
        assert result == value


def test_required_text_never_returns_none() -> None:
    assert v.required_text({"name": "x"}, "name", max_len=5) == "x"
    assert refused(v.required_text, {}, "name", max_len=5).field == "name"


# --- choice ---------------------------------------------------------------------------------


def test_choice_returns_the_option() -> None:
    assert v.choice({"kind": "secret"}, "kind", ("publishable", "secret")) == "secret"


@pytest.mark.parametrize("value", ["Secret", "", 1, ["secret"], {"secret": 1}])
def test_choice_refuses_other_values_naming_the_field(value: Any) -> None:
    err = refused(v.choice, {"kind": value}, "kind", ("publishable", "secret"))

    assert err.field == "kind"
    assert "publishable, secret" in err.message


def test_missing_choice_names_the_field() -> None:
    err = refused(v.choice, {}, "kind", ("publishable", "secret"))

    assert (err.field, err.code) == ("kind", "MISSING_FIELD")


# --- http_url -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "https://example.com/avatars/ada.png?size=64#x",
        "https://cdn.example.com:8443/a",
        "HTTPS://EXAMPLE.COM/A.PNG",
        "http://127.0.0.1/a.png",
        "https://[::1]/a.png",
    ],
)
def test_http_url_accepts_http_and_https(url: str) -> None:
    assert v.http_url({"avatar": url}, "avatar") == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "javascript://example.com/%0Aalert(1)",
        "JaVaScRiPt:alert(1)",
        "data:image/png;base64,AAAA",
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "//example.com/a.png",
        "example.com/a.png",
        "/relative/a.png",
        "http://",
        "https://",
        "https:///path-only",
        "http:example.com",
        "https:\\\\example.com",
        "https://exa mple.com/a.png",
        "https://example.com/a b.png",
        "https://example.com/\n",
        "https://example.com/\x00",
        "https://[::1/a.png",
        "",
    ],
)
def test_http_url_refuses_everything_else_naming_the_field(url: str) -> None:
    assert refused(v.http_url, {"avatar": url}, "avatar").field == "avatar"


def test_http_url_is_optional() -> None:
    assert v.http_url({}, "avatar") is None
    assert v.http_url({"avatar": None}, "avatar") is None


def test_http_url_must_be_a_string() -> None:
    assert refused(v.http_url, {"avatar": 42}, "avatar").field == "avatar"


def test_http_url_max_length_is_2048() -> None:
    base = "https://example.com/"
    longest = base + "a" * (2048 - len(base))

    assert v.http_url({"avatar": longest}, "avatar") == longest
    assert refused(v.http_url, {"avatar": longest + "a"}, "avatar").field == "avatar"


# --- email ----------------------------------------------------------------------------------


def test_email_is_trimmed_and_lowercased() -> None:
    assert v.email({"email": "  Ada@Example.COM "}) == "ada@example.com"


@pytest.mark.parametrize(
    "value", ["ada", "ada@", "@example.com", "ada@example", "a da@example.com", "", 7]
)
def test_bad_email_names_the_field(value: Any) -> None:
    assert refused(v.email, {"email": value}).field == "email"


def test_email_field_name_is_configurable() -> None:
    assert refused(v.email, {}, "contact").field == "contact"


def test_operator_email_is_an_ascii_email() -> None:
    assert v.operator_email({"email": " Ops@Xn--Mller-Kva.DE "}) == "ops@xn--mller-kva.de"


@pytest.mark.parametrize(
    "value",
    ["\u0430dmin@example.com", "admin@\u0435xample.com", "ad\u200dmin@example.com", "\u00e9@a.io"],
)
def test_operator_email_refuses_any_non_ascii_character(value: str) -> None:
    error = refused(v.operator_email, {"email": value})
    assert (error.field, error.code) == ("email", "EMAIL_NOT_ASCII")
    assert v.email({"email": value}) == value  # what login accepts is unchanged


def test_metadata_refuses_lone_surrogates_and_unsafe_integers() -> None:
    from chalicelib.errors import InvalidInput

    for bad in ({"a": "\ud800"}, {"a": 2**53}, {"a": -(2**60)}):
        try:
            v.metadata({"metadata": bad})
        except InvalidInput as exc:
            assert exc.field == "metadata.a"
        else:
            raise AssertionError(f"accepted {bad!r}")
    assert v.metadata({"metadata": {"a": 2**53 - 1, "b": 1.5}}) == {"a": 2**53 - 1, "b": 1.5}


# --- ids that are path segments -------------------------------------------------------------


@pytest.mark.parametrize("value", [".", "..", "%2e", "%2E", ".%2e", "%2e.", "%2E%2e", ".%2E"])
def test_every_spelling_of_a_dot_segment_is_one(value: str) -> None:
    assert v.is_dot_segment(value)
    assert refused(v.new_id, value, "userId").field == "userId"


@pytest.mark.parametrize("value", ["...", ".a", "a.", "%2e%2e%2e", "%2f", "%", "a%2eb", "~"])
def test_other_dots_and_percents_are_no_dot_segment(value: str) -> None:
    assert not v.is_dot_segment(value)


@pytest.mark.parametrize("value", ["a/b", "a\\b", "~a", "~"])
def test_a_new_id_has_no_separator_and_no_leading_escape(value: str) -> None:
    err = refused(v.new_id, value, "userId")

    assert err.field == "userId" and "userId" in err.message


def test_a_room_id_that_is_a_dot_segment_is_well_formed_but_not_new() -> None:
    assert v.is_room_id("..")  # a lookup of a stored room
    assert refused(v.room_id, "..", "id").field == "id"
    assert v.room_id("...", "id") == "..."
