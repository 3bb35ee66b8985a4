"""Where the secrets come from: SSM Parameter Store on AWS (one GetParameters call, once per
container), env vars or the local stack's file elsewhere; and never into a message or a repr."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import config
from chalicelib.config import ConfigError, Settings

PREFIX = "/pulse/test/"
PEPPER = "pepper-" + "p" * 40
SIGNING = "signing-" + "s" * 40
PREVIOUS = "previous-" + "v" * 40
BASE = {"AWS_DEFAULT_REGION": "us-east-1", "PULSE_STAGE": "test"}
SSM_ENV = {**BASE, "PULSE_SECRETS_SSM_PREFIX": PREFIX}


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


def put(ssm: Any, name: str, value: str) -> None:
    ssm.put_parameter(Name=PREFIX + name, Value=value, Type="SecureString")


@pytest.fixture
def get_parameters_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every SSM call the real reader makes (through botocore, answered by moto)."""
    calls: list[list[str]] = []
    real = config._read_ssm

    def counting(names: Sequence[str], region: str) -> dict[str, str]:
        calls.append(list(names))
        return real(names, region)

    monkeypatch.setattr(config, "_read_ssm", counting)
    return calls


def test_secrets_come_from_ssm_in_one_call(ssm: Any, get_parameters_calls: list[list[str]]) -> None:
    put(ssm, "key-pepper", PEPPER)
    put(ssm, "signing-secret", SIGNING)

    settings = Settings.from_env(SSM_ENV)

    assert settings.key_pepper == PEPPER.encode()
    assert settings.signing_secret == SIGNING.encode()
    assert settings.previous_signing_secret is None
    assert settings.signing_secrets == (SIGNING.encode(),)
    assert get_parameters_calls == [
        [PREFIX + "key-pepper", PREFIX + "signing-secret", PREFIX + "signing-secret-previous"]
    ]


def test_a_previous_signing_secret_in_ssm_is_read_too(ssm: Any) -> None:
    put(ssm, "key-pepper", PEPPER)
    put(ssm, "signing-secret", SIGNING)
    put(ssm, "signing-secret-previous", PREVIOUS)

    settings = Settings.from_env(SSM_ENV)

    assert settings.signing_secrets == (SIGNING.encode(), PREVIOUS.encode())


def test_settings_read_ssm_once_per_container(
    ssm: Any, get_parameters_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    put(ssm, "key-pepper", PEPPER)
    put(ssm, "signing-secret", SIGNING)
    for name in ("PULSE_KEY_PEPPER", "PULSE_SIGNING_SECRET", "PULSE_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PULSE_SECRETS_SSM_PREFIX", PREFIX)
    config.reset_settings()
    try:
        first = config.get_settings()
        second = config.get_settings()
    finally:
        monkeypatch.undo()
        config.reset_settings()
    assert first is second
    assert len(get_parameters_calls) == 1


def test_missing_parameters_name_the_fix(ssm: Any) -> None:
    put(ssm, "key-pepper", PEPPER)

    with pytest.raises(ConfigError) as caught:
        Settings.from_env(SSM_ENV)

    message = str(caught.value)
    assert PREFIX + "signing-secret" in message
    assert "python -m infra secrets" in message
    assert PEPPER not in message


def test_short_parameters_are_refused_without_showing_them(ssm: Any) -> None:
    put(ssm, "key-pepper", "short-pepper")
    put(ssm, "signing-secret", SIGNING)

    with pytest.raises(ConfigError) as caught:
        Settings.from_env(SSM_ENV)

    assert "32" in str(caught.value)
    assert "short-pepper" not in str(caught.value) and SIGNING not in str(caught.value)


def test_an_unreachable_or_forbidden_ssm_is_a_config_error() -> None:
    def refuse(names: Sequence[str], region: str) -> dict[str, str]:
        raise PermissionError("AccessDeniedException: not authorized to perform ssm:GetParameters")

    with pytest.raises(ConfigError) as caught:
        Settings.from_env(SSM_ENV, read_parameters=refuse)

    assert "AccessDeniedException" in str(caught.value)
    assert PREFIX in str(caught.value)


@pytest.mark.parametrize("prefix", ["pulse/test/", "/pulse/test", "x"])
def test_the_prefix_must_be_a_path(prefix: str) -> None:
    def never(names: Sequence[str], region: str) -> dict[str, str]:
        raise AssertionError("no SSM call for a bad prefix")

    with pytest.raises(ConfigError, match="PULSE_SECRETS_SSM_PREFIX"):
        Settings.from_env({**BASE, "PULSE_SECRETS_SSM_PREFIX": prefix}, read_parameters=never)


def test_local_secrets_win_over_the_ssm_prefix(tmp_path: Path) -> None:
    """`make dev` and `chalice local` run with the dev stage's variables, SSM prefix included:
    they must use the local secrets and never call AWS."""

    def never(names: Sequence[str], region: str) -> dict[str, str]:
        raise AssertionError("no SSM call when local secrets are configured")

    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"keyPepper": PEPPER, "signingSecret": SIGNING}))
    from_file = Settings.from_env({**SSM_ENV, "PULSE_SECRETS_FILE": str(path)}, never)
    from_env = Settings.from_env(
        {**SSM_ENV, "PULSE_KEY_PEPPER": PEPPER, "PULSE_SIGNING_SECRET": SIGNING}, never
    )

    assert from_file.key_pepper == from_env.key_pepper == PEPPER.encode()


def test_a_partial_local_configuration_is_an_error_not_a_silent_ssm_read() -> None:
    def never(names: Sequence[str], region: str) -> dict[str, str]:
        raise AssertionError("no SSM call when local secrets are (partly) configured")

    with pytest.raises(ConfigError, match="PULSE_SIGNING_SECRET"):
        Settings.from_env({**SSM_ENV, "PULSE_KEY_PEPPER": PEPPER}, read_parameters=never)


def test_without_the_prefix_no_ssm_call_is_made() -> None:
    def never(names: Sequence[str], region: str) -> dict[str, str]:
        raise AssertionError("SSM must not be asked")

    env = {**BASE, "PULSE_KEY_PEPPER": PEPPER, "PULSE_SIGNING_SECRET": SIGNING}
    settings = Settings.from_env(env, read_parameters=never)

    assert settings.key_pepper == PEPPER.encode()
    assert settings.previous_signing_secret is None


def test_env_vars_may_carry_a_previous_signing_secret() -> None:
    env = {
        **BASE,
        "PULSE_KEY_PEPPER": PEPPER,
        "PULSE_SIGNING_SECRET": SIGNING,
        "PULSE_SIGNING_SECRET_PREVIOUS": PREVIOUS,
    }
    assert Settings.from_env(env).signing_secrets == (SIGNING.encode(), PREVIOUS.encode())


def test_a_short_previous_signing_secret_is_refused() -> None:
    env = {
        **BASE,
        "PULSE_KEY_PEPPER": PEPPER,
        "PULSE_SIGNING_SECRET": SIGNING,
        "PULSE_SIGNING_SECRET_PREVIOUS": "short",
    }
    with pytest.raises(ConfigError, match="PULSE_SIGNING_SECRET_PREVIOUS"):
        Settings.from_env(env)


def test_the_local_secrets_file_still_works(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"keyPepper": PEPPER, "signingSecret": SIGNING}))

    settings = Settings.from_env({**BASE, "PULSE_SECRETS_FILE": str(path)})

    assert (settings.key_pepper, settings.signing_secret) == (PEPPER.encode(), SIGNING.encode())


def test_repr_shows_no_secret() -> None:
    env = {
        **BASE,
        "PULSE_KEY_PEPPER": PEPPER,
        "PULSE_SIGNING_SECRET": SIGNING,
        "PULSE_SIGNING_SECRET_PREVIOUS": PREVIOUS,
    }
    shown = repr(Settings.from_env(env))
    assert PEPPER not in shown and SIGNING not in shown and PREVIOUS not in shown
