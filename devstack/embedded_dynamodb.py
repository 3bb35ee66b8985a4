"""The embedded DynamoDB of the dev stack: moto's threaded server, in-process, reporting writes."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

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
)
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
        moto_app = DomainDispatcherApplication(create_backend_app)
        app = WriteWatcher(IdempotentTransactions(moto_app), self._on_write)
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
