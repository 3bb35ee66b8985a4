"""Webhook secrets and signatures against the Standard Webhooks reference library, and the
address rules of the sender (outbound/http.py)."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook as Verifier

from chalicelib.auth import webhooks as signing
from chalicelib.outbound.http import Refused, address_problem, check_url


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.new_secret() != secret


def test_our_signature_is_the_reference_library_s() -> None:
    secret = signing.new_secret()
    now = int(time.time())
    body = b'{"type":"comment.created","data":{"body":"caf\\u00e9 \xe2\x9c\x93"}}'
    ours = signing.sign(secret, "msg_1", now, body)
    from datetime import UTC, datetime

    theirs = Verifier(secret).sign("msg_1", datetime.fromtimestamp(now, tz=UTC), body.decode())
    assert ours == theirs


def test_both_signatures_of_a_rotation_verify() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    now = int(time.time())
    body = b'{"type":"room.updated"}'
    header = signing.signature_header([new, old], "msg_2", now, body)
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(now), "webhook-signature": header}
    assert len(header.split(" ")) == 2
    for secret in (old, new):
        Verifier(secret).verify(body, headers)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fc00::1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("169.254.10.10", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "an address that is not public"),
        ("0.0.0.0", "a private address"),  # "this host": Python counts it private
        ("224.0.0.1", "an address that is not public"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_address_rules(address: str, problem: str | None) -> None:
    assert address_problem(address, allow_local=False) == problem


def test_the_local_stack_may_post_to_loopback_only() -> None:
    assert address_problem("127.0.0.1", allow_local=True) is None
    assert address_problem("10.0.0.1", allow_local=True) == "a private address"
    assert address_problem("169.254.169.254", allow_local=True) == "a cloud metadata address"
    check_url("http://127.0.0.1:8080/in", allow_local=True)
    with pytest.raises(Refused):
        check_url("http://127.0.0.1:8080/in", allow_local=False)
