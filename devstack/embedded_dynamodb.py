"""The embedded DynamoDB of the dev stack: moto's threaded server, in-process, reporting writes;
the app's own DynamoDB calls skip the HTTP hop to it (serve_in_process). The same server is
the stack's S3 (attachments), with S3's checks of presigned POSTs in front (s3_policy.py)."""

from __future__ import annotations

import errno
import io
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from .moto_fixes import (
    IdempotentTransactions,
    install_fast_item_answers,
    install_item_rollback,
    install_partition_query,
    install_untracked_models,
)
from .s3_policy import PolicyGate
from .snapshot import WriteWatcher


class EmbeddedDynamoDB(ThreadedMotoServer):
    """ThreadedMotoServer with these changes: its WSGI app applies one request at a time and calls
    `on_write` after each DynamoDB write; transactions roll back item by item and honour their
    ClientRequestToken as DynamoDB does (devstack/moto_fixes.py); and a failure to bind (port in
    use) is raised by start() instead of leaving start() waiting forever."""

    def __init__(
        self, host: str, port: int, on_write: Callable[[], None], poll_interval: float = 0.5
    ) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self._on_write = on_write
        self._poll_interval = poll_interval
        self._start_error: BaseException | None = None
        # werkzeug logs one line per request at INFO: a flood, since each API call makes several.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    _app: Any = None  # the WSGI app the server runs, once started

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> None:
        super().start()
        error = self._start_error
        if isinstance(error, SystemExit):  # werkzeug exits when the port is taken
            raise OSError(errno.EADDRINUSE, "address already in use") from error
        if error is not None:
            raise error

    def _server_entry(self) -> None:
        install_item_rollback()
        install_fast_item_answers()
        install_partition_query()
        install_untracked_models()
        moto_app = PolicyGate(DomainDispatcherApplication(create_backend_app))
        app = WriteWatcher(IdempotentTransactions(moto_app), self._on_write)
        self._app = app
        try:
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
        except BaseException as exc:
            self._start_error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=self._poll_interval)

    def stop(self) -> None:
        if self._start_error is None and self._thread is not None:
            super().stop()

    def serve_in_process(self, session: Any) -> None:
        """Answer the DynamoDB requests of clients built from botocore `session` (the app's one
        session, chalicelib/aws.py) by calling the server's WSGI app directly: the same moto,
        the same one-request-at-a-time lock, write reports and transaction tokens, without a
        socket, an HTTP server thread and urllib3 per call. Requests are still built, signed
        and parsed by botocore, as in production; other endpoints are left alone."""
        app, endpoint = self._app, self.endpoint
        if app is None:
            raise RuntimeError("start() the embedded DynamoDB first")
        host, port = self.get_host_and_port()

        def send(request: Any, **kwargs: Any) -> Any:
            if not request.url.startswith(endpoint + "/"):
                return None
            return _call_wsgi(app, request, host, port)

        session.register("before-send.dynamodb", send, unique_id="pulse-embedded-dynamodb")


class _Body(io.BytesIO):
    """A response body as botocore reads one (AWSResponse.raw.stream())."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        while chunk := self.read(65536):
            yield chunk


def _call_wsgi(app: Any, request: Any, host: str, port: int) -> Any:
    from botocore.awsrequest import AWSResponse

    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = body.read()
    url = urlsplit(request.url)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": url.path or "/",
        "QUERY_STRING": url.query,
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        value = value.decode() if isinstance(value, bytes) else str(value)
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = value
    environ.setdefault("HTTP_HOST", url.netloc)
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer.update(status=int(status.split(" ", 1)[0]), headers=headers)
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return AWSResponse(request.url, answer["status"], dict(answer["headers"]), _Body(data))
