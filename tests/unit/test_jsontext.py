"""The one JSON parser and encoder (chalicelib/jsontext.py): what it refuses, how it names where,
and that it never writes anything but JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.app import Response

from chalicelib import jsontext
from chalicelib.api.middleware import http_middleware
from chalicelib.errors import InvalidInput, MalformedJson


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        ('{"a": 1e999}', "a", "finite number"),
        ('{"a": -1e400}', "a", "finite number"),
        ('{"a": 1' + "0" * 400 + ".0}", "a", "finite number"),
        ('{"a": NaN}', "a", "NaN is not a JSON number"),
        ('{"a": Infinity}', "a", "Infinity is not a JSON number"),
        ('{"a": -Infinity}', "a", "-Infinity is not a JSON number"),
        ('{"a": ' + "1" * 4301 + "}", "a", "4301 digits"),
        ('{"a": {"b": [0, {"c": NaN}]}}', "a.b[1].c", "NaN"),
        ("[1, 2, NaN]", "body[2]", "NaN"),
        ("1e999", "body", "finite"),
    ],
)
def test_numbers_json_cannot_carry_are_invalid_input_naming_where(
    text: str, field: str, says: str
) -> None:
    with pytest.raises(jsontext.BadNumber) as caught:
        jsontext.loads(text)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == "INVALID_INPUT"
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ") and says in caught.value.message


def test_the_first_bad_number_in_document_order_is_named_and_the_rest_is_kept() -> None:
    with pytest.raises(jsontext.BadNumber) as caught:
        jsontext.loads('{"requestId": "7", "a": {"b": 1e999}, "c": NaN, "d": [1]}')
    assert caught.value.field == "a.b"
    assert caught.value.document == {"requestId": "7", "a": {"b": None}, "c": None, "d": [1]}


def test_a_bad_number_deep_down_is_found_without_recursing() -> None:
    text = '{"a": ' + "[" * 900 + "NaN" + "]" * 900 + "}"
    with pytest.raises(jsontext.BadNumber) as caught:
        jsontext.loads(text)
    assert caught.value.field == "a" + "[0]" * 899 + "[0]"


def test_what_json_allows_is_kept_exactly() -> None:
    text = '{"big": ' + "9" * 4300 + ', "f": 1.5e300, "neg": -0.0, "tiny": 1e-400}'
    value = jsontext.loads(text)
    assert value["big"] == int("9" * 4300)
    assert value["f"] == 1.5e300 and value["tiny"] == 0.0
    assert jsontext.loads(jsontext.dumps(value)) == value


def test_text_that_is_not_json_is_malformed_json() -> None:
    for text in ("", "{", "{'a': 1}", "[" * 100_000):
        with pytest.raises(MalformedJson):
            jsontext.loads(text)


def test_the_encoder_never_writes_nan_or_infinity() -> None:
    for value in (float("nan"), float("inf"), {"a": [float("-inf")]}):
        with pytest.raises(ValueError):
            jsontext.dumps(value)
    assert jsontext.dumps({"é": [1, 2.5]}) == '{"\\u00e9":[1,2.5]}'


def test_stored_json_that_is_not_json_is_the_servers_fault() -> None:
    with pytest.raises(ValueError):
        jsontext.stored('{"x": Infinity}')
    assert jsontext.stored('{"x": 1}') == {"x": 1}


def test_a_rest_answer_holding_nan_is_a_500_in_the_error_shape() -> None:
    """The middleware writes every body with the one encoder: Chalice's own would send NaN."""

    class Request:
        method = "GET"
        raw_body = b""
        context: dict[str, Any] = {"requestId": "req-1", "resourcePath": "/x"}

    response = http_middleware(Request(), lambda _: Response(body={"n": float("nan")}))  # type: ignore[arg-type]
    assert response.status_code == 500
    body = json.loads(response.body, parse_constant=lambda name: pytest.fail(name))
    assert body["error"]["code"] == "INTERNAL_ERROR" and body["error"]["requestId"] == "req-1"
