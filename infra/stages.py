"""The deployment stages of `.chalice/config.json` and the AWS names that follow from each one:
tables, secrets, policy, stacks. The deploy tools read the stage from here, never guess it."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.config import SECRET_PARAMETERS

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = Path(".chalice") / "config.json"

# Variables that point the tools at a local stack or local secrets; a deployed stage uses none.
LOCAL_ONLY_VARIABLES = (
    "PULSE_DYNAMODB_ENDPOINT",
    "PULSE_KEY_PEPPER",
    "PULSE_SIGNING_SECRET",
    "PULSE_SIGNING_SECRET_PREVIOUS",
    "PULSE_SECRETS_FILE",
)


FUNCTIONS = (
    "api_handler",
    "websocket_connect",
    "websocket_message",
    "websocket_disconnect",
    "webhook_events",
    "webhook_attempts",
    "retention",
)


class StageError(Exception):
    """The stage is unknown or its configuration is incomplete (shown without traceback)."""


@dataclass(frozen=True)
class Stage:
    name: str
    app_name: str
    env: dict[str, str]  # the Lambda functions' environment variables
    policy_file: Path
    api_gateway_stage: str
    # The stage's entry of .chalice/config.json as it is (guard rails read theirs from it).
    config: dict[str, Any] = field(default_factory=dict, compare=False)

    def throttle(self, api: str) -> tuple[float, int]:
        """(rate per second, burst) of API Gateway's throttle on `rest` or `websocket`."""
        limits = self.config.get("api_throttling", {}).get(api)
        if not limits:
            raise StageError(f"stage {self.name!r} lacks api_throttling.{api} in {CONFIG_PATH}")
        return float(limits["rate_limit"]), int(limits["burst_limit"])

    @property
    def log_retention_days(self) -> int:
        days = self.config.get("log_retention_in_days")
        if not days:
            raise StageError(f"stage {self.name!r} lacks log_retention_in_days in {CONFIG_PATH}")
        return int(days)

    @property
    def tracing(self) -> bool:
        """X-Ray on the functions (chalice's `xray`) and on the REST API's stage."""
        return bool(self.config.get("xray", False))

    @property
    def tags(self) -> dict[str, str]:
        return {"app": self.app_name, "stage": self.name}

    @property
    def alarm_topic(self) -> str:
        return f"{self.function_prefix}-alarms"

    def function_policy_file(self, function: str) -> Path:
        """The function's own IAM policy (chalice's per-function `iam_policy_file`)."""
        return self.policy_file.with_name(f"policy-{self.name}-{function}.json")

    @property
    def table_prefix(self) -> str:
        return self.env["PULSE_TABLE_PREFIX"]

    @property
    def ssm_prefix(self) -> str:
        return self.env["PULSE_SECRETS_SSM_PREFIX"]

    @property
    def parameter_names(self) -> list[str]:
        """The secrets' SSM names: pepper, signing secret, previous signing secret."""
        return [self.ssm_prefix + name for name in SECRET_PARAMETERS]

    @property
    def function_prefix(self) -> str:
        """Every Lambda function of the stage is named this, or this + '-' + something: chalice
        deploy names them `pulse-prod`, `pulse-prod-websocket_connect`, ...; CloudFormation
        names them `<stack>-<logical id>-<suffix>`, and the app stack is named this too."""
        return f"{self.app_name}-{self.name}"

    @property
    def app_stack(self) -> str:
        """The stack of the packaged template (`make package`): functions, APIs and tables."""
        return self.function_prefix

    @property
    def tables_stack(self) -> str:
        """The tables' own stack on the `make deploy` path (chalice deploy makes the rest)."""
        return f"{self.function_prefix}-tables"

    def apply_to(self, env: MutableMapping[str, str]) -> None:
        """Make `env` the stage's (for tools run from a shell against the deployed stage)."""
        for name in LOCAL_ONLY_VARIABLES:
            env.pop(name, None)
        env.update(self.env)


def read_config(root: Path = ROOT) -> dict[str, Any]:
    path = root / CONFIG_PATH
    try:
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StageError(f"cannot read {path}: {exc}") from exc
    return config


def stage_names(root: Path = ROOT) -> list[str]:
    return sorted(read_config(root).get("stages", {}))


def load_stage(name: str, root: Path = ROOT) -> Stage:
    config = read_config(root)
    stages = config.get("stages", {})
    if name not in stages:
        known = ", ".join(sorted(stages)) or "none"
        raise StageError(f"no stage {name!r} in {CONFIG_PATH} (stages: {known})")
    stage = stages[name]
    env = {**config.get("environment_variables", {}), **stage.get("environment_variables", {})}
    required = ("PULSE_STAGE", "PULSE_TABLE_PREFIX", "PULSE_SECRETS_SSM_PREFIX")
    missing = [variable for variable in required if not env.get(variable)]
    if missing:
        raise StageError(
            f"stage {name!r} in {CONFIG_PATH} lacks environment_variables {', '.join(missing)}"
        )
    ssm_prefix = env["PULSE_SECRETS_SSM_PREFIX"]
    if not (ssm_prefix.startswith("/") and ssm_prefix.endswith("/")):
        raise StageError(f"PULSE_SECRETS_SSM_PREFIX of stage {name!r} must start and end with /")
    policy = stage.get("iam_policy_file") or config.get("iam_policy_file") or f"policy-{name}.json"
    return Stage(
        name=name,
        app_name=str(config.get("app_name", "pulse")),
        env={k: str(v) for k, v in env.items()},
        policy_file=root / ".chalice" / policy,
        api_gateway_stage=str(
            stage.get("api_gateway_stage") or config.get("api_gateway_stage") or "api"
        ),
        config=stage,
    )
