"""The container's one botocore session: every AWS client (DynamoDB through PynamoDB, the
Management API in sockets/sender.py) is built from it, so endpoint data, credentials and
service models are loaded once per container, and boto3 is never imported."""

from __future__ import annotations

import threading
from typing import Any

import botocore.session


class _Session(botocore.session.Session):
    """botocore sessions are not safe to build clients from concurrently; this one is."""

    _lock = threading.RLock()

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return super().create_client(*args, **kwargs)


_session: _Session | None = None
_lock = threading.Lock()


def session() -> botocore.session.Session:
    """The shared session, created on first use (never at import)."""
    global _session
    with _lock:
        if _session is None:
            _session = _Session()
        return _session
