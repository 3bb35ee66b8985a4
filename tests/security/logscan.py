"""A pytest plugin: no secret ever appears in a log line, over the whole test run.

Registered from tests/conftest.py (`pytest_plugins`). From the start of the run to its end, one
handler on the root logger and one on `pulse` (which does not propagate) format every record
as production does (chalicelib.logs.JsonFormatter: message, extra fields, traceback) and look
for secrets in it. At the end, the logs of the local stacks the e2e tests started (stack-*.log
under pytest's temporary directory) are read too. Any finding fails the run and is listed, with
the test that was running and the secret redacted.

What counts as a secret:
- anything shaped like a secret API key (`sk_`/`rk_` + 60 base62 characters; a `pk_` is
  public since issue 17: stored and listed in full, it shows in DynamoDB's DEBUG lines), an
  operator session (`pso_` + 48) or a signed JWT (`eyJ....eyJ....signature`);
- the suite's server secrets (key pepper, signing secrets: tests/conftest.py sets them) and the
  operator passwords the tests use.

Records are seen at the levels the loggers are set to: `pulse` at INFO as in production, other
libraries at WARNING unless a test raises them (caplog), when their DEBUG lines are scanned too."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.logs import JsonFormatter

SHAPES = {
    "an API key": re.compile(r"(?<![0-9A-Za-z])[rs]k_[0-9A-Za-z]{60}(?![0-9A-Za-z])"),
    "an operator session": re.compile(r"(?<![0-9A-Za-z])pso_[0-9A-Za-z]{48}(?![0-9A-Za-z])"),
    "a user token (JWT)": re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}"),
}
PASSWORDS = (  # the operator passwords of tests/ api, integration, e2e, infra and devstack
    "correct horse battery staple",
    "another long password",
    "e2e-correct-horse-battery",
    "a-long-enough-password",
    "choose-a-long-password",  # the README's, which tests/e2e/test_walkthrough.py runs
)
SECRET_VARIABLES = ("PULSE_KEY_PEPPER", "PULSE_SIGNING_SECRET", "PULSE_PREVIOUS_SIGNING_SECRET")
KEY = pytest.StashKey["LogScanner"]()


@dataclass(frozen=True)
class Leak:
    where: str  # the test (or the stack log) it came from
    source: str  # the logger, or the log file
    what: str
    excerpt: str  # redacted

    def __str__(self) -> str:
        return f"{self.what} in a {self.source} line during {self.where}: {self.excerpt}"


def redact(text: str, start: int, end: int) -> str:
    secret = text[start:end]
    shown = secret[:6] + "..." + f"({len(secret)} chars)"
    return (text[max(0, start - 60) : start] + shown + text[end : end + 40]).replace("\n", " ")


class LogScanner(logging.Handler):
    """A handler that keeps findings, not records (the run logs a great deal)."""

    def __init__(self, literals: dict[str, str]) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(JsonFormatter())
        self.literals = literals  # name -> a secret that must never appear
        self.leaks: list[Leak] = []
        self.current = "collection"  # the running test
        self.records = 0
        self._last: logging.LogRecord | None = None  # a record seen by both handlers counts once

    def emit(self, record: logging.LogRecord) -> None:
        if record is self._last:
            return
        self._last = record
        self.records += 1
        try:
            text = self.format(record)
        except Exception:
            text = f"{record.msg} {record.args}"
        self.leaks += self.scan(text, self.current, f"logger {record.name!r}")

    def scan(self, text: str, where: str, source: str) -> list[Leak]:
        found = []
        for what, shape in SHAPES.items():
            found += [
                Leak(where, source, what, redact(text, *m.span())) for m in shape.finditer(text)
            ]
        for what, secret in self.literals.items():
            at = text.find(secret)
            if at >= 0:
                found.append(Leak(where, source, what, redact(text, at, at + len(secret))))
        return found

    def scan_files(self, root: Path, pattern: str) -> None:
        for path in sorted({p.resolve() for p in root.rglob(pattern)}):  # "*current" links
            text = path.read_text(errors="replace")
            self.leaks += self.scan(text, str(path), "local stack log")


def literal_secrets() -> dict[str, str]:
    found = {f"the password {p!r}": p for p in PASSWORDS}
    for name in SECRET_VARIABLES:
        if os.environ.get(name):
            found[f"the value of {name}"] = os.environ[name]
    return found


def scanner(config: pytest.Config) -> LogScanner:
    return config.stash[KEY]


def pytest_configure(config: pytest.Config) -> None:
    handler = LogScanner(literal_secrets())
    config.stash[KEY] = handler
    for name in ("", "pulse"):
        logging.getLogger(name).addHandler(handler)


def pytest_unconfigure(config: pytest.Config) -> None:
    handler = config.stash.get(KEY, None)
    for name in ("", "pulse"):
        logging.getLogger(name).removeHandler(handler)  # type: ignore[arg-type]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> None:
    scanner(item.config).current = item.nodeid


def pytest_sessionfinish(session: pytest.Session) -> None:
    found = scanner(session.config)
    found.current = "session teardown"
    factory = getattr(session.config, "_tmp_path_factory", None)  # pytest's own tmp_path root
    basetemp = getattr(factory, "_basetemp", None)
    if basetemp is not None:
        found.scan_files(Path(basetemp), "stack-*.log")
    if found.leaks and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    found = scanner(terminalreporter.config)
    if not found.leaks:
        return
    terminalreporter.section("secrets in logs", red=True, bold=True)
    for leak in found.leaks[:50]:
        terminalreporter.line(str(leak), red=True)
    if len(found.leaks) > 50:
        terminalreporter.line(f"... and {len(found.leaks) - 50} more")
