"""moto's server as the AWS that `make deploy` talks to (the deploy test, tests/infra): moto with
the four things real AWS accepts that moto (5.2.5) refuses, fixed in this one place.

    python -m devstack.aws_standin -p 5000         # then AWS_ENDPOINT_URL=http://127.0.0.1:5000

- `import_without_description`: ImportRestApi reads `info.description` unconditionally
  (`APIGatewayBackend.import_rest_api`), so an OpenAPI document without one (chalice's has none)
  fails with a 500. API Gateway makes it optional: a missing one is an empty description.
- `swagger_2`: PutRestApi refuses every `swagger: "2.0"` document (moto implements OpenAPI 3
  only), and chalice imports and updates its REST API as Swagger 2.0, which API Gateway accepts.
  moto's own import code reads the parts of the document chalice writes (paths, methods,
  `x-amazon-apigateway-integration`) the same way in both versions, so the version check is
  skipped for Swagger 2.0 and nothing else changes.
- `websocket_deployments`: apigatewayv2 has no CreateDeployment (no route to
  `/v2/apis/{id}/deployments`), which chalice calls to deploy the WebSocket API. Here it answers
  a new deployment id, DEPLOYED, as API Gateway does; stages keep whatever deployment id they
  are given.
- `websocket_stage_updates`: apigatewayv2 has no UpdateStage (PATCH `/v2/apis/{id}/stages/{name}`),
  which `make deploy` calls to set the WebSocket stage's throttle and access log
  (infra/stage_guardrails.py). Here it sets the fields given (default route settings, access log
  settings, description, stage variables) and answers the stage, as API Gateway does.

Lambda functions are created, listed and updated by moto as usual; invoking one needs docker,
which the deploy test does not use (it runs the uploaded code itself)."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

FIXES = (
    "import_without_description",
    "swagger_2",
    "websocket_deployments",
    "websocket_stage_updates",
)


def install() -> None:
    """Apply the four fixes to moto (process-wide, idempotent)."""
    _import_without_description()
    _swagger_2()
    _websocket_deployments()
    _websocket_stage_updates()


def _import_without_description() -> None:
    from moto.apigateway.models import APIGatewayBackend

    original = APIGatewayBackend.import_rest_api
    if getattr(original, "_pulse_fix", False):
        return

    def import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        info = api_doc.setdefault("info", {})
        info.setdefault("description", "")
        return original(self, api_doc, fail_on_warnings)

    import_rest_api._pulse_fix = True  # type: ignore[attr-defined]
    APIGatewayBackend.import_rest_api = import_rest_api  # type: ignore[method-assign]


def _swagger_2() -> None:
    from moto.apigateway.models import APIGatewayBackend

    original = APIGatewayBackend.put_rest_api
    if getattr(original, "_pulse_fix", False):
        return

    def put_rest_api(
        self: Any, function_id: str, api_doc: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        if str(api_doc.get("swagger", "")).startswith("2."):
            # moto's version check refuses it; its import code reads what chalice writes alike
            api_doc = {k: v for k, v in api_doc.items() if k != "swagger"}
            api_doc["openapi"] = "3.0.1"
            kwargs["fail_on_warnings"] = False  # its validator would check OpenAPI 3 rules
            args = ()
        return original(self, function_id, api_doc, *args, **kwargs)

    put_rest_api._pulse_fix = True  # type: ignore[attr-defined]
    APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]


def _websocket_deployments() -> None:
    from moto.apigatewayv2 import urls
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    if hasattr(ApiGatewayV2Response, "create_deployment"):
        return

    def create_deployment(self: Any) -> tuple[int, dict[str, str], str]:
        api_id = self.path.split("/")[-2]
        self.apigatewayv2_backend.get_api(api_id)  # NotFoundException for an unknown API
        body = {
            "DeploymentId": uuid.uuid4().hex[:10],
            "DeploymentStatus": "DEPLOYED",
            "AutoDeployed": False,
        }
        return 201, {}, json.dumps({k[0].lower() + k[1:]: v for k, v in body.items()})

    ApiGatewayV2Response.create_deployment = create_deployment  # type: ignore[attr-defined]
    urls.url_paths["{0}/v2/apis/(?P<api_id>[^/]+)/deployments$"] = ApiGatewayV2Response.dispatch


def _websocket_stage_updates() -> None:
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    if hasattr(ApiGatewayV2Response, "update_stage"):
        return

    def update_stage(self: Any) -> tuple[int, dict[str, str], str]:
        api_id = self.path.split("/")[-3]
        stage = self.apigatewayv2_backend.get_stage(api_id, unquote(self.path.split("/")[-1]))
        config = json.loads(self.body or "{}")
        if "defaultRouteSettings" in config:
            stage.default_route_settings = {
                **stage.default_route_settings,
                **config["defaultRouteSettings"],
            }
        if "accessLogSettings" in config:
            stage.access_log_settings = config["accessLogSettings"]
        if "description" in config:
            stage.description = config["description"]
        if "stageVariables" in config:
            stage.stage_variables = config["stageVariables"]
        return 200, {}, json.dumps(stage.to_json())

    ApiGatewayV2Response.update_stage = update_stage  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.aws_standin", description=__doc__)
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    install()
    from moto.server import main as moto_server

    moto_server(["-H", "127.0.0.1", "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
