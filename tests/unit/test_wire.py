"""The wire declarations (chalicelib/wire/): a body model's parse is validation.py's checks in
the declared order, and its schema says which fields are required; a response shape sends what
its entity holds and derives its schema from it, so a new entity field needs no new line."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from chalicelib.entities import Metadata
from chalicelib.errors import InvalidInput
from chalicelib.wire import (
    attachments,
    environments,
    inbox,
    operators,
    privacy,
    rooms,
    threads,
    tokens,
    webhooks,
)
from chalicelib.wire.fields import Body
from chalicelib.wire.schemas import METADATA, TIMESTAMP
from chalicelib.wire.shapes import Record

MODELS: list[type[Body]] = [
    tokens.MintRequest,
    rooms.CreateRoomRequest,
    rooms.UpdateRoomRequest,
    rooms.BroadcastRequest,
    threads.CreateThreadRequest,
    threads.UpdateThreadRequest,
    threads.CreateCommentRequest,
    threads.UpdateCommentRequest,
    threads.ReactionRequest,
    attachments.CreateAttachmentRequest,
    inbox.SubscriptionRequest,
    inbox.NotificationSettingsRequest,
    environments.CreateEnvironmentRequest,
    environments.UpdateEnvironmentRequest,
    environments.DisableEnvironmentRequest,
    environments.CreateKeyRequest,
    environments.ReportLeakRequest,
    environments.RollKeyRequest,
    environments.NoBody,
    operators.LoginRequest,
    operators.CreateOperatorRequest,
    operators.UpdateOperatorRequest,
    webhooks.CreateWebhookRequest,
    webhooks.UpdateWebhookRequest,
    webhooks.ReplayRequest,
    privacy.EraseRequest,
]


def refusal(model: type[Body], body: dict[str, Any]) -> tuple[str, str, str]:
    with pytest.raises(InvalidInput) as caught:
        model.parse(body)
    return caught.value.code, caught.value.field, caught.value.message


def examples(model: type[Body]) -> list[dict[str, Any]]:
    return [
        *([model.example] if model.example is not None else []),
        *(value for _, value in model.examples.values()),
    ]


def test_every_body_model_is_listed_here() -> None:
    import app  # noqa: F401 (declares every route)
    from chalicelib.api.routing import ROUTERS

    declared = {s.doc.body for r in ROUTERS for s in r.specs if s.doc and s.doc.body}
    assert declared == set(MODELS)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_example_parses(model: type[Body]) -> None:
    for body in examples(model) or [{}]:
        model.parse(body)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_field_is_required_in_the_schema_exactly_when_leaving_it_out_is_refused(
    model: type[Body],
) -> None:
    for body in examples(model):
        for spec in model.fields:
            if spec.name not in body:
                continue
            without = {k: v for k, v in body.items() if k != spec.name}
            if spec.required:
                assert refusal(model, without)[:2] == ("MISSING_FIELD", spec.name)
            elif model.at_least_one and not any(
                f in without for f in (s.name for s in model.fields if s.attr in model.at_least_one)
            ):
                assert refusal(model, without)[0] == "NOTHING_TO_UPDATE"
            else:
                model.parse(without)


def test_unknown_fields_come_first_naming_the_first_in_sorted_order() -> None:
    body = {"zebra": 1, "colour": 2, "comment": "not an object"}

    assert refusal(threads.CreateThreadRequest, body)[:2] == ("UNKNOWN_FIELD", "colour")


def test_fields_are_checked_in_declared_order() -> None:
    body = {"id": 7, "metadata": "not an object"}

    assert refusal(rooms.CreateRoomRequest, body)[:2] == ("INVALID_INPUT", "id")


def test_a_nested_object_names_its_fields_by_their_path() -> None:
    model = threads.CreateThreadRequest

    assert refusal(model, {"comment": {"body": "Hi"}})[:2] == ("MISSING_FIELD", "comment.userId")
    assert refusal(model, {"comment": {"userId": "u", "body": "Hi", "x": 1}})[:2] == (
        "UNKNOWN_FIELD",
        "comment.x",
    )
    parsed = model.parse({"comment": {"userId": "u", "body": "Hi"}, "metadata": {"a": 1}})
    assert (parsed.comment.user_id, parsed.comment.body, parsed.metadata) == ("u", "Hi", {"a": 1})


def test_an_update_needs_one_of_its_fields() -> None:
    assert refusal(threads.UpdateThreadRequest, {}) == (
        "NOTHING_TO_UPDATE",
        "body",
        "body: send resolved and/or metadata",
    )
    assert refusal(operators.UpdateOperatorRequest, {})[2] == "body: send role and/or password"


def test_a_field_read_only_when_sent_still_refuses_null() -> None:
    assert refusal(operators.UpdateOperatorRequest, {"role": None})[:2] == ("MISSING_FIELD", "role")
    assert operators.UpdateOperatorRequest.parse({"password": "p" * 12}).role is None


# --- response shapes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    id: str
    body: str
    pinned: bool
    stars: int
    mood: Literal["calm", "loud"]
    tags: Metadata
    created_at: str
    edited_at: str | None
    author: str | None


NOTE = Record(Note, "Note")
A_NOTE = Note("n1", "Hi", True, 3, "calm", {"a": 1}, "2026-01-01T00:00:00.000Z", None, None)


def test_a_record_sends_every_field_of_its_entity_in_camel_case() -> None:
    assert NOTE.dump(A_NOTE) == {
        "id": "n1",
        "body": "Hi",
        "pinned": True,
        "stars": 3,
        "mood": "calm",
        "tags": {"a": 1},
        "createdAt": "2026-01-01T00:00:00.000Z",
        "editedAt": None,
        "author": None,
    }


def test_a_records_schema_is_derived_from_the_entitys_annotations() -> None:
    schema = NOTE.schema()

    assert schema["additionalProperties"] is False
    assert schema["required"] == list(NOTE.dump(A_NOTE))
    assert schema["properties"] == {
        "id": {"type": "string"},
        "body": {"type": "string"},
        "pinned": {"type": "boolean"},
        "stars": {"type": "integer"},
        "mood": {"type": "string", "enum": ["calm", "loud"]},
        "tags": METADATA,
        "createdAt": TIMESTAMP,
        "editedAt": {"oneOf": [TIMESTAMP, {"type": "null"}]},
        "author": {"type": ["string", "null"]},
    }


def test_what_a_record_leaves_out_renames_and_composes_is_declared() -> None:
    shape = Record(
        Note,
        "Short",
        exclude=("tags", "mood"),
        rename={"body": "text"},
        omit_none=("author",),
    )

    sent = shape.dump(A_NOTE)
    assert set(sent) == {"id", "text", "pinned", "stars", "createdAt", "editedAt"}
    schema = shape.schema()
    assert set(schema["properties"]) == set(sent) | {"author"}
    assert "author" not in schema["required"]


def test_a_type_without_a_schema_must_be_declared() -> None:
    @dataclass(frozen=True)
    class Odd:
        value: complex

    with pytest.raises(TypeError, match="declare it"):
        Record(Odd, "Odd").schema()


def test_parsing_does_not_change_the_body() -> None:
    body = {"comment": {"userId": "u", "body": "Hi"}}
    before = copy.deepcopy(body)

    threads.CreateThreadRequest.parse(body)

    assert body == before
