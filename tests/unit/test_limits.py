"""The unit a source address is counted in by the failed-authentication limits
(`limits.source_scope`), and the limits' settings (`PULSE_RATE_*`)."""

from __future__ import annotations

import pytest

from chalicelib.config import DEFAULT_RATES, RATE_FIELDS, ConfigError, Settings
from chalicelib.services.limits import source_scope
from infra.stages import load_stage, stage_names

BASE = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "PULSE_STAGE": "test",
    "PULSE_KEY_PEPPER": "pepper-" + "p" * 40,
    "PULSE_SIGNING_SECRET": "signing-" + "s" * 40,
}


@pytest.mark.parametrize(
    ("address", "scope"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
    ],
)
def test_an_ipv4_address_is_its_own_scope(address: str, scope: str) -> None:
    assert source_scope(address) == scope


@pytest.mark.parametrize(
    "address",
    [
        "2001:db8:1:2::1",
        "2001:db8:1:2:ffff:ffff:ffff:ffff",
        "2001:0db8:0001:0002:0000:0000:0000:0009",  # the long form is the same address space
        "2001:DB8:1:2::abcd",
    ],
)
def test_an_ipv6_address_counts_as_its_64(address: str) -> None:
    """One host usually holds a whole /64: counting single addresses would let it rotate."""
    assert source_scope(address) == "2001:db8:1:2::/64"


def test_neighbouring_ipv6_64s_are_apart() -> None:
    assert source_scope("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert source_scope("::1") == "::/64"


@pytest.mark.parametrize("address", ["::ffff:203.0.113.9", "::FFFF:cb00:7109"])
def test_a_v4_mapped_ipv6_address_is_its_ipv4_address(address: str) -> None:
    """The same client, whether the front end reports it as IPv4 or as mapped IPv6."""
    assert source_scope(address) == "203.0.113.9"


@pytest.mark.parametrize(
    "address",
    [
        None,
        "",
        "not-an-ip",
        "203.0.113",
        "203.0.113.256",
        "203.0.113.9, 198.51.100.7",  # an X-Forwarded-For list is not an address
        " 203.0.113.9",
        "203.0.113.9/32",
        "2001:db8::1::2",
        "01.2.3.4",
        "unknown",
    ],
)
def test_garbage_is_no_scope_and_is_not_counted(address: str | None) -> None:
    assert source_scope(address) is None


# --- settings ---------------------------------------------------------------------------------


def test_every_rate_variable_has_a_default_and_a_settings_field() -> None:
    assert set(RATE_FIELDS) == set(DEFAULT_RATES)
    assert all(name.startswith("PULSE_RATE_") for name in RATE_FIELDS)
    settings = Settings.from_env(BASE)
    for name, attribute in RATE_FIELDS.items():
        assert getattr(settings, attribute) == DEFAULT_RATES[name] > 0


def test_rate_variables_set_the_limits_and_0_turns_one_off() -> None:
    env = {**BASE, **{name: str(n + 7) for n, name in enumerate(RATE_FIELDS)}}
    env["PULSE_RATE_MINT_PER_KEY"] = "0"
    settings = Settings.from_env(env)
    for n, (name, attribute) in enumerate(RATE_FIELDS.items()):
        expected = 0 if name == "PULSE_RATE_MINT_PER_KEY" else n + 7
        assert getattr(settings, attribute) == expected
    empty = Settings.from_env({**BASE, "PULSE_RATE_REST_PER_ENV": ""})
    assert empty.rate_rest_per_env == DEFAULT_RATES["PULSE_RATE_REST_PER_ENV"]


@pytest.mark.parametrize("value", ["-1", "ten", "1.5"])
def test_a_bad_rate_variable_is_a_config_error_naming_it(value: str) -> None:
    with pytest.raises(ConfigError, match="PULSE_RATE_AUTH_FAILURES_PER_KEY"):
        Settings.from_env({**BASE, "PULSE_RATE_AUTH_FAILURES_PER_KEY": value})


@pytest.mark.parametrize("stage", stage_names())
def test_every_stage_sets_every_limit_to_a_value_the_settings_accept(stage: str) -> None:
    """.chalice/config.json spells the limits out per stage, where an operator changes them."""
    env = load_stage(stage).env
    assert set(RATE_FIELDS) <= set(env), sorted(set(RATE_FIELDS) - set(env))
    settings = Settings.from_env({**env, **BASE})
    for name, attribute in RATE_FIELDS.items():
        assert getattr(settings, attribute) == int(env[name]) >= 0
