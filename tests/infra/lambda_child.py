"""Lambda, as far as the package tests need it: a fresh interpreter that sees only a code package
(unpacked read-only; no site-packages: run with `python -I -S -B`), calls its handlers the way
Lambda does (`module.function(event, context)`, named as the function's Handler) and prints
what they answered as JSON. Run by tests/infra/test_lean_package.py and test_deploy_moto.py.

stdin: {"code": dir, "handlers": {"rest": "app.app", "connect": "app.ws_connect"},
        "email": ..., "password": ...}
The walk: an operator logs in, creates an environment, mints a token with its secret key, lists
rooms, and connects a socket with the publishable key and that token; then a client of each
service the package keeps data for is built (no call: building one loads its model)."""

import importlib
import json
import sys

payload = json.loads(sys.stdin.read())
sys.path.insert(0, payload["code"])


class Context:
    aws_request_id = "c0ffee00-0000-4000-8000-000000000000"
    function_name = "pulse-test"
    memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self):  # type: ignore[no-untyped-def]
        return 10_000


def handler(name):  # type: ignore[no-untyped-def]
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def rest(method, path, body=None, token=None):  # type: ignore[no-untyped-def]
    headers = {"content-type": "application/json", "host": "abc.execute-api.example"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "lambda-child"},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }
    answer = handler(payload["handlers"]["rest"])(event, Context())
    return answer["statusCode"], json.loads(answer["body"] or "null")


out = {}
status, session = rest(
    "POST", "/admin/api/login", {"email": payload["email"], "password": payload["password"]}
)
out["login"] = status
status, created = rest(
    "POST", "/admin/api/environments", {"name": "Deployed"}, token=(session or {}).get("token")
)
out["create environment"] = status
by_kind = {k["kind"]: k["key"] for k in created["keys"]}
secret, publishable = by_kind["secret"], by_kind["publishable"]
status, minted = rest("POST", "/auth/token", {"userId": "ada", "name": "Ada"}, token=secret)
out["mint"] = status
status, rooms = rest("GET", "/api/v1/rooms", token=secret)
out["list rooms"] = status
connect = {
    "requestContext": {
        "routeKey": "$connect",
        "eventType": "CONNECT",
        "connectionId": "Conn0001Deployed=",
        "domainName": "def.execute-api.example",
        "stage": "api",
        "apiId": "def",
        "requestId": "c0ffee00-0000-4000-8000-000000000002",
        "messageDirection": "IN",
        "connectedAt": 1_700_000_000_000,
        "requestTimeEpoch": 1_700_000_000_000,
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "lambda-child"},
    },
    "isBase64Encoded": False,
    "headers": {"Host": "def.execute-api.example"},
    "queryStringParameters": {"apiKey": publishable, "token": minted["token"], "room": "lobby"},
}
connect["multiValueQueryStringParameters"] = {
    k: [v] for k, v in connect["queryStringParameters"].items()
}
out["$connect"] = handler(payload["handlers"]["connect"])(connect, Context())["statusCode"]

from chalicelib import aws  # noqa: E402  (the package's own session, after the handlers)

out["clients"] = sorted(
    aws.session().create_client(name, region_name="us-east-1").meta.service_model.service_name
    for name in payload.get("services", [])
)
out["boto3 loaded"] = "boto3" in sys.modules
out["outside the package"] = sorted(
    name
    for name, module in sys.modules.items()
    if (getattr(module, "__file__", None) or "").find("site-packages") >= 0
)
sys.stdout.write(json.dumps(out))
