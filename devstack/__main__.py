"""`python -m devstack`: the local stack (`make dev`) and `chalice local` beside it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        usage="%(prog)s [-h] [COMMAND]",
        description="Without a command: run the local stack (embedded DynamoDB + HTTP and "
        "WebSocket APIs) in the foreground until Ctrl-C. Environment: PULSE_HTTP_PORT (8000), "
        "PULSE_DYNAMODB_PORT (8009), PULSE_WS_PORT (8001), PULSE_WS_MANAGEMENT_PORT (8002), "
        "PULSE_WS_IDLE_SECONDS (600), PULSE_WS_MAX_SECONDS (7200), PULSE_DATA_DIR (.pulse), "
        "PULSE_EPHEMERAL=1, PULSE_ADMIN_EMAIL + PULSE_ADMIN_PASSWORD.",
        epilog="Deploy tooling and create-admin: python -m infra --help.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "chalice-local",
        help="`chalice local` beside a running `make dev`: its DynamoDB, secrets and gateway",
        description="Environment: PULSE_CHALICE_PORT (8010), PULSE_DYNAMODB_PORT (8009) or "
        "PULSE_DYNAMODB_ENDPOINT, PULSE_DATA_DIR (.pulse: the dev stack's secrets.json).",
    )
    args = parser.parse_args(argv)

    if args.command == "chalice-local":
        from .chalicelocal import run as run_chalice_local

        return run_chalice_local()
    from .stack import run

    return run()


if __name__ == "__main__":
    sys.exit(main())
