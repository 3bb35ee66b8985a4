"""Inputs at the edges of the contract, found while fuzzing it and pinned here in-process (moto):
query values Python thinks numeric that are not ASCII integers (a 500 before), JSON nested past
the decoder's recursion limit (a 500 before), and an explicit `"avatar": null` (no picture)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from chalicelib import runtime
from chalicelib.entities import Actor

LISTS = ["/api/v1/rooms", "/api/v1/users"]


@pytest.fixture
def sk(services: runtime.Services) -> str:
    system = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
    _, (_, secret) = services.environments.create(system, "Contract")
    assert secret.key is not None
    return secret.key


def get(client: Any, path: str, sk: str) -> Any:
    return client.http.get(path, headers={"Authorization": f"Bearer {sk}"})


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "limit",
    # superscript two (isdigit, but int() fails), Arabic-Indic three, "³3", fullwidth "10"
    ["\u00b2", "\u0663", "\u00b33", "\uff11\uff10", "1e1", "+5", "-1", "0", "101", " 5", "5 "],
)
def test_a_limit_that_is_not_an_ascii_integer_from_1_to_100_is_a_400(
    client: Any, sk: str, path: str, limit: str
) -> None:
    response = get(client, f"{path}?limit={quote(limit)}", sk)

    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "INVALID_INPUT"
    assert response.json_body["error"]["field"] == "limit"


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["1", "05", "100"])
def test_an_ascii_limit_from_1_to_100_is_taken(client: Any, sk: str, path: str, limit: str) -> None:
    assert get(client, f"{path}?limit={limit}", sk).status_code == 200


def test_a_null_avatar_means_no_picture(client: Any, sk: str) -> None:
    body = '{"userId": "u-1", "name": "Ada", "avatar": null}'
    headers = {"Authorization": f"Bearer {sk}", "Content-Type": "application/json"}

    minted = client.http.post("/auth/token", headers=headers, body=body)

    assert minted.status_code == 200, minted.body
    assert get(client, "/api/v1/users/u-1", sk).json_body["avatar"] is None


@pytest.mark.parametrize("path", ["/api/v1/rooms", "/auth/token", "/admin/api/login"])
def test_json_nested_past_the_parser_limit_is_a_400_not_a_500(
    client: Any, sk: str, path: str
) -> None:
    """20,000 levels fit in 40 KB; Python's decoder gives up with a RecursionError."""
    body = '{"id": ' + "[" * 20_000 + "]" * 20_000 + "}"
    headers = {"Authorization": f"Bearer {sk}", "Content-Type": "application/json"}

    response = client.http.post(path, headers=headers, body=body)

    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "MALFORMED_JSON"


def test_json_nested_past_32_levels_is_too_deep(client: Any, sk: str) -> None:
    event = '{"event": ' + "[" * 40 + "]" * 40 + "}"
    headers = {"Authorization": f"Bearer {sk}", "Content-Type": "application/json"}

    response = client.http.post("/api/v1/rooms/r1/broadcast", headers=headers, body=event)

    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "TOO_DEEP"
