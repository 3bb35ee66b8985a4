"""The dev stack's HTTP server (dev tooling, never shipped): chalice local's request handler,
answering as API Gateway does with Pulse's gateway responses (infra/gateway_responses.py).

chalice local answers a path no route matches with API Gateway's default 403 "Missing
Authentication Token" (quoting any Authorization header), and http.server answers what it
cannot serve (an unknown method, an oversized URL or header, a malformed request line) with an
HTML page. Here every one of those is the error shape `{"error": {"code", "message"}}` with the
right status, and a URL longer than API Gateway takes is refused as API Gateway would."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalGatewayException

# API Gateway's limit on a URL's length (edge-optimized APIs, chalice's default endpoint type).
MAX_URL = 8192
CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    408: "REQUEST_TIMEOUT",
    414: "URI_TOO_LONG",
    431: "HEADERS_TOO_LARGE",
    501: "NOT_IMPLEMENTED",
    505: "HTTP_VERSION_NOT_SUPPORTED",
}
MESSAGES = {
    404: "No route matches this path.",
    414: f"The URL is longer than the {MAX_URL} characters the API takes.",
}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def error_body(status: int, message: str | None = None) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = CODES.get(status, f"HTTP_{status}")
    text = MESSAGES.get(status) or message or phrase
    return json.dumps({"error": {"code": code, "message": text}}, separators=(",", ":")).encode()


class LocalRequestHandler(ChaliceRequestHandler):
    """Every request, whatever its method, goes to the app (it answers 405 itself); what never
    reaches it is answered in the error shape."""

    # http.server writes the headers and the body in two small sends; with Nagle's algorithm on,
    # the body then waits for the client's delayed ACK of the headers (~40 ms on Linux) on every
    # keep-alive request. Buffer the answer (handle_one_request flushes it: one send) and turn
    # Nagle off for whatever is larger than the buffer.
    disable_nagle_algorithm = True
    wbufsize = -1

    def _dispatch(self) -> None:
        self._generic_handle()

    def __getattr__(self, name: str) -> Any:
        # http.server looks up `do_<METHOD>` and answers 501 (HTML) when there is none: hand
        # every method to the app instead, which knows each path's (405 with Allow).
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if len(self.path) > MAX_URL:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        return True

    def _send_http_response(self, code: int, headers: Any, body: str | bytes | None) -> None:
        if self.command != "HEAD":
            super()._send_http_response(code, headers, body)
            return
        # As GET, without the body; and no Content-Length, which would have to be the GET's.
        self.send_response(code)
        self._send_headers({k: v for k, v in headers.items() if k.lower() != "content-length"})

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError):  # no route matched (the app has no authorizer)
            self._send_json(404, error_body(404))
        else:
            super()._send_error_response(error)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (414, 431, 400, 505, ...) in the error shape."""
        self.close_connection = True
        version: str = getattr(self, "request_version", "HTTP/0.9")
        if version == "HTTP/0.9" and b" HTTP/" in (getattr(self, "raw_requestline", b"") or b""):
            # A request line too broken to parse its version still came from an HTTP/1 client
            # (an HTTP/0.9 one names no version): it gets a status line and headers.
            self.request_version = "HTTP/1.1"
        self._send_json(int(code), error_body(int(code), message))

    def _send_json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in HEADERS.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
