"""Webhook posts, safely: the host is resolved before each send and private, loopback,
link-local, shared (CGNAT) and cloud-metadata addresses are refused; the connection goes to the
address that was checked (no second lookup a DNS rebinding could change); redirects are not
followed; at most 64 KB of an answer is read and 1 KB kept; one deadline bounds the attempt."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

READ_MAX = 64 * 1024
KEEP_MAX = 1024
USER_AGENT = "Pulse-Webhooks/1"

# Besides what `is_global` rules out (private, loopback, link-local, shared 100.64/10, reserved,
# documentation ranges): cloud metadata endpoints reachable at public-looking addresses.
METADATA = (ipaddress.ip_network("fd00:ec2::254/128"),)

Resolver = Callable[[str, int], list[str]]


class Refused(Exception):
    """The URL may not be posted to (the reason is safe to show the operator)."""


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (error says why)
    body: str  # the first KEEP_MAX bytes, as text
    duration_ms: int
    error: str | None = None


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: str, allow_local: bool) -> str | None:
    """Why a resolved address may not be posted to, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if any(ip in net for net in METADATA) or str(ip) == "169.254.169.254":
        return "a cloud metadata address"
    if allow_local and ip.is_loopback:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "an address that is not public"
    return None


def check_url(url: str, allow_local: bool) -> None:
    """What can be told without a lookup: the scheme, and a literal address in the URL."""
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in allowed:
        raise Refused("must be an https URL")
    if not parts.hostname:
        raise Refused("must name a host")
    if parts.username or parts.password:
        raise Refused("must not carry credentials")
    try:
        problem = address_problem(parts.hostname, allow_local)
    except ValueError:
        return  # a name: checked when it is resolved, before each send
    if problem:
        raise Refused(f"points to {problem}")


class Poster:
    """Posts one webhook attempt. `resolver` is replaceable so tests can make a name resolve to
    any address."""

    def __init__(
        self, *, timeout: float, allow_local: bool, resolver: Resolver | None = None
    ) -> None:
        self.timeout = timeout
        self.allow_local = allow_local
        self.resolver = resolver or resolve

    def post(self, url: str, headers: dict[str, str], body: bytes) -> Answer:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            check_url(url, self.allow_local)
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = self._vetted(host, port)
        except Refused as exc:
            return Answer(None, "", took(), f"refused: {exc}")
        except (OSError, ValueError) as exc:
            return Answer(None, "", took(), f"cannot resolve the host ({type(exc).__name__})")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        deadline = started + self.timeout
        conn = _connection(parts.scheme, host, port, address, self.timeout)
        try:
            conn.request("POST", path, body=body, headers={**headers, "User-Agent": USER_AGENT})
            if conn.sock is not None:  # what is left of the attempt's time, not 10 s more
                conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
            response = conn.getresponse()
            data = _read(response, deadline)
            return Answer(response.status, data[:KEEP_MAX].decode("utf-8", "replace"), took())
        except TimeoutError:
            return Answer(None, "", took(), "timeout")
        except (OSError, http.client.HTTPException) as exc:
            return Answer(None, "", took(), f"network error ({type(exc).__name__})")
        finally:
            conn.close()

    def _vetted(self, host: str, port: int) -> str:
        addresses = self.resolver(host, port)
        if not addresses:
            raise Refused("the host has no address")
        for address in addresses:  # every address: the client could be handed any of them
            problem = address_problem(address, self.allow_local)
            if problem:
                raise Refused(f"the host resolves to {problem}")
        return addresses[0]


def _connection(
    scheme: str, host: str, port: int, address: str, timeout: float
) -> http.client.HTTPConnection:
    """A connection to `address` that speaks to `host` (Host header, TLS name and certificate)."""
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect(_address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        return socket.create_connection((address, port), *args, **kwargs)

    conn._create_connection = connect  # type: ignore[attr-defined]
    return conn


def _read(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """At most READ_MAX bytes, and not past the attempt's deadline (a trickling answer)."""
    chunks: list[bytes] = []
    size = 0
    while size < READ_MAX:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read1(min(16 * 1024, READ_MAX - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
