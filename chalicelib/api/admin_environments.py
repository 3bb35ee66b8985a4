"""Admin API: environments, their API keys and audit log (`/admin/api/environments...`)."""

from __future__ import annotations

from typing import Any

from .. import validation as v
from ..auth.apikeys import KeyKind
from ..entities import Actor
from ..runtime import services
from ..services.environments import KEY_NAME_MAX, NAME_MAX
from . import http
from . import serializers as out
from .routing import Router

router = Router(prefix="/admin/api")
KEY_KINDS: tuple[KeyKind, ...] = ("publishable", "secret")


def _name(body: dict[str, Any]) -> str:
    return v.required_text(body, "name", max_len=NAME_MAX, strip=True)


@router.route("/environments", "GET")
def list_environments(actor: Actor) -> dict[str, Any]:
    req = router.request
    page = services().environments.list_environments(
        http.search(req), http.limit(req), http.query(req, "cursor")
    )
    return out.page(page, out.environment)


@router.route("/environments", "POST", role="admin", status=201)
def create_environment(actor: Actor) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["name"])
    env, keys = services().environments.create(actor, _name(body))
    return {"environment": out.environment(env), "keys": [out.api_key(k) for k in keys]}


@router.route("/environments/{envId}", "GET")
def get_environment(actor: Actor, envId: str) -> dict[str, Any]:
    return out.environment(services().environments.get(envId))


@router.route("/environments/{envId}", "PATCH", role="admin")
def rename_environment(actor: Actor, envId: str) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["name"])
    return out.environment(services().environments.rename(actor, envId, _name(body)))


@router.route("/environments/{envId}", "DELETE", role="admin", status=204)
def disable_environment(actor: Actor, envId: str) -> None:
    body = http.json_object(router.request, required=False)
    v.only_fields(body, ["confirmName"])
    confirm_name = v.required_text(body, "confirmName", max_len=NAME_MAX)
    services().environments.disable(actor, envId, confirm_name)


@router.route("/environments/{envId}/suspend", "POST", role="admin")
def suspend_environment(actor: Actor, envId: str) -> dict[str, Any]:
    v.only_fields(http.json_object(router.request, required=False), [])
    return out.environment(services().environments.suspend(actor, envId))


@router.route("/environments/{envId}/resume", "POST", role="admin")
def resume_environment(actor: Actor, envId: str) -> dict[str, Any]:
    v.only_fields(http.json_object(router.request, required=False), [])
    return out.environment(services().environments.resume(actor, envId))


@router.route("/environments/{envId}/keys", "GET")
def list_keys(actor: Actor, envId: str) -> dict[str, Any]:
    req = router.request
    page = services().environments.list_keys(
        envId, http.search(req), http.limit(req), http.query(req, "cursor")
    )
    return out.page(page, out.api_key)


@router.route("/environments/{envId}/keys", "POST", role="admin", status=201)
def create_key(actor: Actor, envId: str) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["kind", "name"])
    kind = v.choice(body, "kind", KEY_KINDS)
    name = v.text(body, "name", max_len=KEY_NAME_MAX, strip=True, required=False)
    return out.api_key(services().environments.create_key(actor, envId, kind, name))


@router.route("/environments/{envId}/keys/rotate", "POST", role="admin", status=201)
def rotate_keys(actor: Actor, envId: str) -> dict[str, Any]:
    v.only_fields(http.json_object(router.request, required=False), [])
    keys, revoked = services().environments.rotate(actor, envId)
    return {"keys": [out.api_key(k) for k in keys], "revoked": revoked}


@router.route("/environments/{envId}/keys/{keyId}/revoke", "POST", role="admin")
def revoke_key(actor: Actor, envId: str, keyId: str) -> dict[str, Any]:
    v.only_fields(http.json_object(router.request, required=False), [])
    return out.api_key(services().environments.revoke(actor, envId, keyId))


@router.route("/environments/{envId}/audit", "GET")
def environment_audit(actor: Actor, envId: str) -> dict[str, Any]:
    req = router.request
    page = services().environments.audit(envId, http.limit(req), http.query(req, "cursor"))
    return out.page(page, out.audit_event)
