"""API Gateway's own answers in Pulse's error shape. API Gateway answers some requests without
running Lambda: a path no resource matches (403 "Missing Authentication Token" by default), its
throttle (429), a body over its limit (413), its own timeouts and failures. Gateway responses
reshape those into `{"error": {"code", "message", "requestId"}}` with the right status.

`make package` puts them in the REST API's OpenAPI body (`x-amazon-apigateway-gateway-responses`,
deployed with the API); `make deploy` puts them after `chalice deploy` (`PutGatewayResponse`,
which chalice's own import leaves out) and deploys the stage again so they take effect. Messages
are fixed strings: API Gateway's own message can quote a request header (an Authorization value),
so it is never echoed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib import codes

EXTENSION = "x-amazon-apigateway-gateway-responses"
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class GatewayResponse:
    """One response type: its status (None keeps API Gateway's), code and message."""

    status: int | None
    code: str
    message: str
    retry_after: int | None = None

    def template(self) -> str:
        """The body: JSON once API Gateway fills in $context (an enum and a request id)."""
        body = {
            "error": {"code": self.code, "message": self.message, "requestId": "$context.requestId"}
        }
        return json.dumps(body, separators=(",", ":"))

    def parameters(self) -> dict[str, str]:
        headers = dict(HEADERS)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return {f"gatewayresponse.header.{name}": f"'{value}'" for name, value in headers.items()}


RESPONSES: dict[str, GatewayResponse] = {
    # Also a method a path does not declare; Pulse's paths declare every method API Gateway lets
    # through (chalicelib/api/routing.py), so this is an unknown path: 404, not 403.
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(
        404, codes.NOT_FOUND, "No route matches this path."
    ),
    "THROTTLED": GatewayResponse(
        429, codes.RATE_LIMITED, "Too many requests reached the API at once; retry shortly.", 1
    ),
    "REQUEST_TOO_LARGE": GatewayResponse(
        413, codes.PAYLOAD_TOO_LARGE, "The request is larger than the API accepts."
    ),
    "INTEGRATION_TIMEOUT": GatewayResponse(
        504, codes.GATEWAY_TIMEOUT, "The request took too long to answer; retry it."
    ),
    # Anything else API Gateway answers itself keeps its status; the code names its type.
    "DEFAULT_4XX": GatewayResponse(
        None, "$context.error.responseType", "The API gateway refused the request."
    ),
    "DEFAULT_5XX": GatewayResponse(
        None, "$context.error.responseType", "The API gateway could not complete the request."
    ),
}


def openapi_extension() -> dict[str, Any]:
    """The REST API's `x-amazon-apigateway-gateway-responses`."""
    extension: dict[str, Any] = {}
    for kind, response in RESPONSES.items():
        entry: dict[str, Any] = {
            "responseParameters": response.parameters(),
            "responseTemplates": {"application/json": response.template()},
        }
        if response.status is not None:
            entry["statusCode"] = str(response.status)
        extension[kind] = entry
    return extension


def add_to_template(template: dict[str, Any]) -> None:
    """Into what `chalice package` wrote: the RestAPI's OpenAPI body."""
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    body[EXTENSION] = openapi_extension()


def put(apigateway: Any, rest_api_id: str, stage: str) -> list[str]:
    """On a deployed REST API: put every response, then deploy `stage` so they take effect.
    Returns the response types put."""
    for kind, response in RESPONSES.items():
        request: dict[str, Any] = {
            "restApiId": rest_api_id,
            "responseType": kind,
            "responseParameters": response.parameters(),
            "responseTemplates": {"application/json": response.template()},
        }
        if response.status is not None:
            request["statusCode"] = str(response.status)
        apigateway.put_gateway_response(**request)
    apigateway.create_deployment(
        restApiId=rest_api_id,
        stageName=stage,
        description="Pulse gateway responses (the error shape)",
    )
    return list(RESPONSES)
