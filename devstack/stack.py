"""`python -m devstack`: the local stack in the foreground - embedded DynamoDB (moto), the tables,
snapshot persistence under PULSE_DATA_DIR, the Chalice app over HTTP and the WebSocket gateway -
until Ctrl-C."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from infra import toolenv

from . import localenv
from .localenv import LocalEnvError
from .snapshot import SnapshotError, Snapshotter

if TYPE_CHECKING:
    from .wsgateway import Limits, WebSocketGateway

HOST = "127.0.0.1"
CHALICE_STAGE = "dev"
SNAPSHOT_FILE = "dynamodb.json"
POLL_SECONDS = 0.1  # how often the servers look for shutdown: Ctrl-C returns quickly
WS_HANDLERS = ("ws_connect", "ws_message", "ws_disconnect")  # app.py's, for the gateway


@dataclass
class Plan:
    """What the stack will do, decided from the environment before anything starts."""

    http_port: int
    dynamodb_port: int
    ephemeral: bool
    data_dir: Path
    admin_email: str | None
    admin_password: str | None
    ws_port: int
    ws_management_port: int
    ws_limits: Limits

    @property
    def snapshot_path(self) -> Path:
        return self.data_dir / SNAPSHOT_FILE


@dataclass
class Report:
    """What happened at start, for the banner."""

    restored_items: int = 0
    skipped_tables: list[str] = field(default_factory=list)
    admin: tuple[str, bool] | None = None  # (email, created)


def run() -> int:
    """Start, serve until SIGINT/SIGTERM, save, stop. Returns the process exit code."""
    try:
        plan = prepare_environment(os.environ)  # the app reads its settings from os.environ
    except LocalEnvError as exc:
        return _fail(str(exc))
    stack = DevStack(plan)
    stop = threading.Event()
    _on_signals(stop)
    try:
        report = stack.start()
        print(banner(plan, stack, report), flush=True)
        # Poll: a bare wait() can sleep through SIGINT/SIGTERM when another thread takes the
        # signal (Python runs the handler on the main thread only once it next wakes up).
        while not stop.wait(POLL_SECONDS):
            pass
        print("\nStopping the local stack...", flush=True)
    except (LocalEnvError, SnapshotError) as exc:
        return _fail(str(exc))
    finally:
        stack.stop()
    if stack.saved is False:
        return _fail(f"the last changes could not be saved to {plan.snapshot_path} (see above)")
    if stack.saved:
        print(f"Saved local data to {plan.snapshot_path}", flush=True)
    return 0


def prepare_environment(env: MutableMapping[str, str]) -> Plan:
    """Settings for the app, all through the environment the app reads: the embedded endpoint,
    the dev stage's variables from .chalice/config.json, region, fake credentials, secrets."""
    from .wsgateway import DEFAULT_MANAGEMENT_PORT, DEFAULT_PORT, Limits

    ephemeral = localenv.is_ephemeral(env)
    plan = Plan(
        http_port=localenv.port(env, "PULSE_HTTP_PORT", localenv.DEFAULT_HTTP_PORT),
        dynamodb_port=localenv.port(env, "PULSE_DYNAMODB_PORT", localenv.DEFAULT_DYNAMODB_PORT),
        ephemeral=ephemeral,
        data_dir=toolenv.data_dir(env),
        admin_email=env.get("PULSE_ADMIN_EMAIL") or None,
        admin_password=env.get("PULSE_ADMIN_PASSWORD") or None,
        ws_port=localenv.port(env, "PULSE_WS_PORT", DEFAULT_PORT),
        ws_management_port=localenv.port(env, "PULSE_WS_MANAGEMENT_PORT", DEFAULT_MANAGEMENT_PORT),
        ws_limits=Limits.from_env(env),
    )
    if bool(plan.admin_email) != bool(plan.admin_password):
        raise LocalEnvError("set both PULSE_ADMIN_EMAIL and PULSE_ADMIN_PASSWORD, or neither")
    # The stack *is* the database the app talks to, whatever the shell had configured.
    env["PULSE_DYNAMODB_ENDPOINT"] = f"http://{HOST}:{plan.dynamodb_port}"
    # The app pushes to endpoint_url = {scheme}://{domainName}/{stage}: the gateway's is http.
    env["PULSE_WS_MANAGEMENT_SCHEME"] = "http"
    # Attachments: the same embedded server is S3 (the browser uploads straight to it).
    env["PULSE_S3_ENDPOINT"] = env["PULSE_DYNAMODB_ENDPOINT"]
    env.setdefault("PULSE_ATTACHMENTS_BUCKET", LOCAL_BUCKET)
    from . import webhooks

    webhooks.prepare(env, env["PULSE_DYNAMODB_ENDPOINT"])
    for name, value in chalice_stage_environment(CHALICE_STAGE).items():
        env.setdefault(name, value)
    toolenv.default_aws(env)
    if not toolenv.has_secrets(env):
        if ephemeral:
            generated = localenv.new_secrets()
            env["PULSE_KEY_PEPPER"] = generated["keyPepper"]
            env["PULSE_SIGNING_SECRET"] = generated["signingSecret"]
        else:
            env["PULSE_SECRETS_FILE"] = str(localenv.load_or_create_secrets(plan.data_dir))
    return plan


LOCAL_BUCKET = "pulse-dev-attachments"


def create_bucket(s3: Any, bucket: str) -> None:
    """The attachments bucket, with the CORS rule the deployed one has (any origin may POST an
    upload its policy allows, and GET a file its URL signs): pages upload straight to it."""
    region = s3.meta.region_name
    where = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket, **where)
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": ["GET", "POST"],
                    "AllowedOrigins": ["*"],
                    "AllowedHeaders": ["*"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )


def chalice_stage_environment(stage: str) -> dict[str, str]:
    """environment_variables of `stage` in .chalice/config.json (top level merged with stage)."""
    config = chalice_config(stage)
    return {str(k): str(v) for k, v in config.environment_variables.items()}


def chalice_config(stage: str, app: Any = None) -> Any:
    """The same Config `chalice local` builds from .chalice/config.json."""
    from chalice.config import Config

    path = localenv.ROOT / ".chalice" / "config.json"
    try:
        from_disk = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LocalEnvError(f"cannot read {path}: {exc}") from exc
    user_params: dict[str, Any] = {"chalice_app": app} if app is not None else {}
    return Config(
        chalice_stage=stage,
        user_provided_params=user_params,
        config_from_disk=from_disk,
        default_params={
            "project_dir": str(localenv.ROOT),
            "api_gateway_stage": "api",
            "api_gateway_endpoint_type": "EDGE",
            "autogen_policy": True,
        },
    )


class DevStack:
    """Owns the running parts; stop() is safe after a partial start."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.dynamodb: Any = None
        self.http: Any = None
        self.http_thread: threading.Thread | None = None
        self.ws: WebSocketGateway | None = None
        self.ws_missing: list[str] = []  # app.py's WebSocket handlers not defined (yet)
        self.demo: Any = None  # devstack.demo.Demo: /demo and /demo/token (dev only)
        self.webhooks: Any = None  # devstack.webhooks.LocalPipeline: stream and queue pollers
        self.snapshotter: Snapshotter | None = None
        self.table_names: list[str] = []
        self.region = ""
        self.saved: bool | None = None  # the final save: None when there was nothing to save

    def start(self) -> Report:
        import boto3
        from botocore.config import Config as BotoConfig

        from chalicelib.config import ConfigError, get_settings, reset_settings
        from infra.tables import create_tables

        from .embedded_dynamodb import EmbeddedDynamoDB
        from .snapshot import dump_tables, read_snapshot, restore, write_snapshot

        report = Report()
        reset_settings()
        try:
            settings = get_settings()
        except ConfigError as exc:
            raise LocalEnvError(str(exc)) from exc
        self.region = settings.region
        plan = self.plan
        snapshot = None if plan.ephemeral else read_snapshot(plan.snapshot_path)

        def on_write() -> None:
            if self.snapshotter is not None:
                self.snapshotter.mark_dirty()

        self.dynamodb = EmbeddedDynamoDB(HOST, plan.dynamodb_port, on_write, POLL_SECONDS)
        try:
            self.dynamodb.start()
        except OSError as exc:
            self.dynamodb = None
            raise LocalEnvError(
                f"cannot start the embedded DynamoDB on {HOST}:{plan.dynamodb_port} ({exc}); "
                "is another `make dev` running? Set PULSE_DYNAMODB_PORT to use another port."
            ) from exc
        from chalicelib import aws

        self.dynamodb.serve_in_process(aws.session())  # the app's calls skip the HTTP hop
        client = boto3.client(
            "dynamodb",
            endpoint_url=settings.dynamodb_endpoint,
            region_name=settings.region,
            config=BotoConfig(retries={"max_attempts": 2}),
        )
        create_tables(client, settings.table_prefix)
        if settings.attachments_bucket:
            create_bucket(
                boto3.client("s3", endpoint_url=settings.s3_endpoint, region_name=settings.region),
                settings.attachments_bucket,
            )
        self.table_names = [settings.control_table, settings.data_table]
        if snapshot is not None:
            report.restored_items, report.skipped_tables = restore(
                client, snapshot, self.table_names, time.time()
            )
        if not plan.ephemeral:
            names = self.table_names

            def save() -> None:
                write_snapshot(plan.snapshot_path, dump_tables(client, names))

            self.snapshotter = Snapshotter(save)
            self.snapshotter.start()
        if plan.admin_email and plan.admin_password:
            report.admin = ensure_admin(plan.admin_email, plan.admin_password)
        self._start_http()
        self._start_ws()
        from .webhooks import LocalPipeline

        self.webhooks = LocalPipeline(self.dynamodb.endpoint, self.region, settings.data_table)
        self.webhooks.start()
        return report

    def _start_http(self) -> None:
        from chalice.local import create_local_server

        if str(localenv.ROOT) not in sys.path:
            sys.path.insert(0, str(localenv.ROOT))
        from app import app

        config = chalice_config(CHALICE_STAGE, app)
        try:
            self.http = create_local_server(app, config, HOST, self.plan.http_port)
        except OSError as exc:
            raise LocalEnvError(
                f"cannot serve HTTP on {HOST}:{self.plan.http_port} ({exc}); "
                "set PULSE_HTTP_PORT to use another port."
            ) from exc
        # serve_forever of the socket server itself: LocalDevServer's would print its own banner.
        server = self.http.server
        # Chalice's handler, plus the dev-only widget demo under /demo (devstack/demo.py).
        from .demo import Demo, DemoRequestHandler

        self.demo = Demo(
            f"http://{HOST}:{self.plan.http_port}",
            None if self.plan.ephemeral else self.plan.data_dir,
        )
        server.RequestHandlerClass = functools.partial(
            DemoRequestHandler, app_object=app, config=config, demo=self.demo
        )
        self.http_thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=POLL_SECONDS),
            name="pulse-http",
            daemon=True,
        )
        self.http_thread.start()

    def _start_ws(self) -> None:
        """The WebSocket gateway, wired to app.py's handlers (imported by _start_http)."""
        import app as app_module

        from .wsgateway import WebSocketGateway

        handlers: list[Any] = [getattr(app_module, name, None) for name in WS_HANDLERS]
        self.ws_missing = [name for name, h in zip(WS_HANDLERS, handlers, strict=True) if h is None]
        if self.ws_missing:
            return
        connect, message, disconnect = handlers
        gateway = WebSocketGateway(
            connect,
            message,
            disconnect,
            host=HOST,
            port=self.plan.ws_port,
            management_port=self.plan.ws_management_port,
            limits=self.plan.ws_limits,
        )
        try:
            gateway.start()
        except OSError as exc:
            raise LocalEnvError(
                f"cannot start the WebSocket gateway ({exc}); is another `make dev` running? "
                "Set PULSE_WS_PORT and PULSE_WS_MANAGEMENT_PORT to use other ports."
            ) from exc
        self.ws = gateway
        self._deliver_in_process(gateway)
        if self.demo is not None:
            self.demo.ws_url = gateway.url

    @staticmethod
    def _deliver_in_process(gateway: WebSocketGateway) -> None:
        """The app's services, rebuilt with a sender that hands pushes to the gateway in this
        process (devstack/localdelivery.py) instead of posting each over HTTP with botocore."""
        from chalicelib import runtime
        from chalicelib.config import get_settings
        from chalicelib.sockets.sender import ManagementApi

        from .localdelivery import InProcessSender

        settings = get_settings()
        fallback = ManagementApi(settings.ws_management_scheme, settings.region)
        runtime.install(runtime.build(settings, sender=InProcessSender(gateway, fallback)))

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None
        if self.ws is not None:
            self.ws.stop()  # closes the sockets: their $disconnect handlers run, then the save
            self.ws = None
        if self.http is not None:
            self.http.shutdown()  # stop accepting; requests in flight finish on their threads
            self.http.server.server_close()
            self.http = None
        if self.snapshotter is not None:
            self.saved = self.snapshotter.close()  # the final save, while the database is up
            self.snapshotter = None
        if self.dynamodb is not None:
            self.dynamodb.stop()
            self.dynamodb = None


def ensure_admin(email: str, password: str) -> tuple[str, bool]:
    """The owner from PULSE_ADMIN_EMAIL/PASSWORD: (email, created now)."""
    from chalicelib import validation
    from chalicelib.errors import PulseError
    from chalicelib.runtime import services

    try:
        address = validation.operator_email({"PULSE_ADMIN_EMAIL": email}, "PULSE_ADMIN_EMAIL")
        operator, created = services().operators.ensure_owner(address, password)
    except PulseError as exc:
        raise LocalEnvError(f"cannot create the admin account: {exc.message}") from exc
    return operator.email, created


def banner(plan: Plan, stack: DevStack, report: Report) -> str:
    api = f"http://{HOST}:{plan.http_port}"
    endpoint = f"http://{HOST}:{plan.dynamodb_port}"
    if plan.ephemeral:
        data = "not saved (PULSE_EPHEMERAL=1: starts empty, writes nothing to disk)"
    else:
        restored = f"restored {report.restored_items} items" if report.restored_items else "empty"
        data = f"{plan.data_dir} ({restored}; saved after writes and on exit)"
    lines = [
        "",
        "Pulse local stack is running.",
        f"  API:       {api}",
        f"  Panel:     {api}/admin  (the Admin Panel: log in with the admin account below)",
        *ws_lines(stack),
        *(
            [
                f"  Demo:      {api}/demo  (two widgets, dev users Ada and Grace; dev only)",
                f"  Headless:  {api}/demo/headless?user=ada  (the headless client, no widget)",
            ]
            if stack.ws
            else []
        ),
        f"  DynamoDB:  {endpoint}  (region {stack.region}; tables {', '.join(stack.table_names)})",
        f"  Data:      {data}",
    ]
    if report.skipped_tables:
        lines.append(
            "  Warning:   the snapshot has tables of another prefix, not loaded: "
            + ", ".join(report.skipped_tables)
        )
    lines.append("")
    if report.admin is not None:
        email, created = report.admin
        state = "created" if created else "exists; its password was left unchanged"
        lines += [
            f"Admin: {email} ({state}). Log in (uses $PULSE_ADMIN_PASSWORD from your shell):",
            f"  curl -s -X POST {api}/admin/api/login -H 'Content-Type: application/json' \\",
            f'    -d \'{{"email": "{email}", "password": "\'"$PULSE_ADMIN_PASSWORD"\'"}}\'',
        ]
    else:
        lines.append("No admin requested (set PULSE_ADMIN_EMAIL and PULSE_ADMIN_PASSWORD).")
        if plan.ephemeral:
            lines.append("  With PULSE_EPHEMERAL=1, set them to have an owner created at start.")
        else:
            lines += [
                "  Create one from another shell (prompts for the password):",
                f"  PULSE_DYNAMODB_ENDPOINT={endpoint} PULSE_DATA_DIR={plan.data_dir} "
                f"AWS_DEFAULT_REGION={stack.region} "
                f"{_python()} -m infra create-admin --email you@example.com",
            ]
        lines += [
            "  Then log in:",
            f"  curl -s -X POST {api}/admin/api/login -H 'Content-Type: application/json' \\",
            '    -d \'{"email": "you@example.com", "password": "..."}\'',
        ]
    lines += [
        "",
        "The login answers {token, ...}; send it as `Authorization: Bearer <token>`.",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def ws_lines(stack: DevStack) -> list[str]:
    gateway = stack.ws
    if gateway is None:
        missing = ", ".join(stack.ws_missing) or "its handlers"
        return [f"  WebSocket: not started (app.py does not define {missing} yet)"]
    return [
        f"  WebSocket: {gateway.url}  (connect to {gateway.url}/?apiKey=pk_...&token=...&room=...)",
        f"  Mgmt API:  {gateway.management_url}  (API Gateway Management API: "
        "POST/GET/DELETE @connections/{id})",
    ]


def _python() -> str:
    venv = localenv.ROOT / ".venv" / "bin" / "python"
    try:
        return os.path.relpath(venv) if venv.exists() else "python"
    except ValueError:
        return str(venv)


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 2
