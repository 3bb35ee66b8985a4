"""S3's checks of a browser-based upload (a presigned POST), in front of moto's S3, which stores
whatever it is sent (moto 5.2.5 checks neither the policy's conditions, nor its expiry, nor
its signature, and ignores the `tagging` field). So that developers and tests meet the refusals
S3 gives, a POST of a form to a bucket passes here first:

- the signature (SigV4 over the base64 policy, with the stack's credentials): 403
  SignatureDoesNotMatch;
- the policy's expiration: 403 AccessDenied "Invalid according to Policy: Policy expired.";
- every condition (exact match, `eq`, `starts-with`, `content-length-range`) and that every
  form field is named by one: 403 AccessDenied "Invalid according to Policy: ...", or for
  the size 400 EntityTooLarge / EntityTooSmall;

then the upload goes to moto unchanged, and its `tagging` is applied as S3 applies it (the
attachments' lifecycle rule keys on it). Refusals use S3's XML error shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, unescape

from werkzeug.formparser import parse_form_data

# Form fields S3 does not require a condition for (docs: "Creating a POST policy").
UNCONDITIONED = {"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid"}
MAX_BODY = 200 * 1024 * 1024  # far above any limit the app signs; the rest is not read


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def xml(self) -> bytes:
        more = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in self.extra.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{more}"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
        ).encode()


def policy_refused(why: str) -> Refusal:
    return Refusal(403, "AccessDenied", f"Invalid according to Policy: {why}")


def check(
    bucket: str,
    fields: Mapping[str, str],
    size: int,
    secret: str,
    now: datetime,
) -> None:
    """Raise the Refusal S3 would answer this upload with; return when S3 would take it.
    `fields`: the form's fields, names lower-cased (S3 compares them case-insensitively)."""
    policy_b64 = fields.get("policy")
    if not policy_b64:
        raise Refusal(403, "AccessDenied", "Bucket POST must contain a field named 'policy'.")
    signature = fields.get("x-amz-signature", "")
    credential = fields.get("x-amz-credential", "")
    parts = credential.split("/")
    if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or len(parts) != 5:
        raise Refusal(400, "InvalidArgument", "POST requires a SigV4 x-amz-credential.")
    _, day, region, service, _ = parts
    expected = _sign(secret, day, region, service, policy_b64)
    if not hmac.compare_digest(expected, signature):
        raise Refusal(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    try:
        policy = json.loads(base64.b64decode(policy_b64))
        expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, KeyError, TypeError) as exc:
        raise Refusal(400, "InvalidPolicyDocument", "Invalid Policy: malformed.") from exc
    if expiration.replace(tzinfo=UTC) <= now:
        raise policy_refused("Policy expired.")
    values = {**fields, "bucket": bucket}
    named: set[str] = set()
    for condition in policy.get("conditions", []):
        named |= _condition(condition, values, size)
    extra = sorted(
        name
        for name in fields
        if name not in UNCONDITIONED and name not in named and not name.startswith("x-ignore-")
    )
    if extra:
        raise policy_refused(f"Extra input fields: {', '.join(extra)}")


def _condition(condition: Any, values: Mapping[str, str], size: int) -> set[str]:
    """Check one condition; the field names it covers."""
    if isinstance(condition, dict):
        ((name, want),) = condition.items()
        name = name.lower()
        if values.get(name) != want:
            raise policy_refused(f'Policy Condition failed: ["eq", "${name}", "{want}"]')
        return {name}
    op = str(condition[0]).lower()
    if op == "content-length-range":
        low, high = int(condition[1]), int(condition[2])
        if size > high:
            raise Refusal(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=size,
                MaxSizeAllowed=high,
            )
        if size < low:
            raise Refusal(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                ProposedSize=size,
                MinSizeAllowed=low,
            )
        return set()
    name = str(condition[1]).lstrip("$").lower()
    want = str(condition[2])
    got = values.get(name, "")
    ok = got == want if op == "eq" else got.startswith(want) if op == "starts-with" else False
    if not ok:
        raise policy_refused(f'Policy Condition failed: ["{op}", "${name}", "{want}"]')
    return {name}


def _sign(secret: str, day: str, region: str, service: str, policy_b64: str) -> str:
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


_TAG = re.compile(r"<Tag>\s*<Key>([^<]*)</Key>\s*<Value>([^<]*)</Value>\s*</Tag>")


def tags_of(tagging: str) -> dict[str, str]:
    """The tags of a `tagging` field (S3's Tagging XML; a pattern, not an XML parser: the
    field is the uploader's, and only this flat shape is meaningful)."""
    return {unescape(k): unescape(v) for k, v in _TAG.findall(tagging)}


StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class PolicyGate:
    """WSGI middleware: checks a presigned POST before moto's S3 stores it (see above)."""

    def __init__(self, app: App, secret: Callable[[], str] | None = None) -> None:
        self.app = app
        self._secret = secret or (lambda: os.environ.get("AWS_SECRET_ACCESS_KEY", ""))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        bucket = _form_upload_bucket(environ)
        if bucket is None:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            return _answer(
                start_response,
                Refusal(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
                ),
            )
        body = environ["wsgi.input"].read(length)
        parsing = {**environ, "wsgi.input": io.BytesIO(body)}
        _, form, files = parse_form_data(parsing)
        fields = {k.lower(): v for k, v in form.items()}
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        try:
            check(bucket, fields, size, self._secret(), datetime.now(UTC))
        except Refusal as refusal:
            return _answer(start_response, refusal, environ.get("HTTP_ORIGIN"))
        forwarded = {**environ, "wsgi.input": io.BytesIO(body)}
        status: list[str] = []

        def record(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        answer = list(self.app(forwarded, record))
        if status and status[0].startswith("2") and fields.get("tagging"):
            _tag(bucket, fields["key"], tags_of(fields["tagging"]))
        return answer


def _form_upload_bucket(environ: Mapping[str, Any]) -> str | None:
    """The bucket of a browser-based upload (path-style POST of a form, unsigned), else None."""
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("HTTP_AUTHORIZATION"):
        return None
    if not str(environ.get("CONTENT_TYPE", "")).startswith("multipart/form-data"):
        return None
    if environ.get("QUERY_STRING"):
        return None
    parts = [p for p in str(environ.get("PATH_INFO", "")).split("/") if p]
    return parts[0] if len(parts) == 1 else None


def _answer(
    start_response: StartResponse, refusal: Refusal, origin: str | None = None
) -> list[bytes]:
    body = refusal.xml()
    reason = {400: "Bad Request", 403: "Forbidden"}.get(refusal.status, "Error")
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    if origin:  # as the bucket's CORS rule does, so the page can read why
        headers.append(("Access-Control-Allow-Origin", origin))
    start_response(f"{refusal.status} {reason}", headers)
    return [body]


def _tag(bucket: str, key: str, tags: dict[str, str]) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    stored = backend.get_object(bucket, key)
    if stored is not None:
        backend.put_object_tagging(stored, tags)
