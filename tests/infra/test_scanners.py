"""checkov and cfn-lint-serverless (AWS's serverless rules) on the packaged template of each
stage: every finding is one Pulse accepts, listed with its reason in infra/scan_accepted.json
and docs/operations.md, and every listed one still occurs. The scanners run from their own venv
(.venv-scan, made by `make test` from requirements-scan.txt: checkov's pins conflict with
requirements.txt's)."""

from __future__ import annotations

import fnmatch
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.stages import stage_names

ROOT = Path(__file__).resolve().parents[2]
SCAN_BIN = ROOT / ".venv-scan" / "bin"
ACCEPTED: list[dict[str, Any]] = json.loads(
    (ROOT / "infra" / "scan_accepted.json").read_text(encoding="utf-8")
)["accepted"]
STAGES = stage_names()
Finding = tuple[str, str, str]  # (tool, rule, resource)


def scanner(name: str) -> str:
    path = SCAN_BIN / name
    assert path.is_file(), f"{path} is missing: run `make test` (it builds .venv-scan)"
    return str(path)


def checkov(template: Path, tmp_path: Path) -> set[Finding]:
    """checkov's failed checks. It scans a copy whose REST API route table holds one path:
    checkov's graph walks all of the OpenAPI body's ~300 KB for minutes, and no checkov check
    reads routes (the findings are the same, in seconds instead of minutes)."""
    body: dict[str, Any] = json.loads(template.read_text(encoding="utf-8"))
    definition = body["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    first = next(iter(definition["paths"]))
    definition["paths"] = {first: definition["paths"][first]}
    copy = tmp_path / "sam.json"
    copy.write_text(json.dumps(body), encoding="utf-8")
    result = subprocess.run(
        [
            scanner("checkov"),
            "--file",
            str(copy),
            "--framework",
            "cloudformation",
            "--skip-download",  # no network: no guideline links
            "--quiet",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] > 50  # it read the whole template
    return {
        ("checkov", check["check_id"], check["resource"])
        for check in report["results"]["failed_checks"]
    }


def serverless_rules(template: Path) -> set[Finding]:
    """cfn-lint with AWS's serverless rules appended (and cfn-lint's own, which find nothing)."""
    result = subprocess.run(
        [
            scanner("cfn-lint"),
            "--format",
            "json",
            "--append-rules",
            "cfn_lint_serverless.rules",
            "--",
            str(template),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 2, 4, 6, 8, 10, 12, 14), result.stderr
    findings = set()
    for match in json.loads(result.stdout or "[]"):
        path = match["Location"]["Path"]
        resource = path[1] if path and path[0] == "Resources" else "/".join(map(str, path))
        findings.add(("cfn-lint-serverless", match["Rule"]["Id"], resource))
    return findings


def accepted_in(stage: str) -> list[dict[str, Any]]:
    return [entry for entry in ACCEPTED if stage in entry["stages"]]


def is_accepted(finding: Finding, entries: list[dict[str, Any]]) -> bool:
    tool, rule, resource = finding
    return any(
        e["tool"] == tool
        and e["rule"] == rule
        and any(fnmatch.fnmatchcase(resource, p) for p in e["resources"])
        for e in entries
    )


@pytest.fixture(scope="module")
def findings(
    packaged: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, set[Finding]]:
    return {
        name: checkov(packaged[name], tmp_path_factory.mktemp(f"checkov-{name}"))
        | serverless_rules(packaged[name])
        for name in STAGES
    }


@pytest.mark.parametrize("name", STAGES)
def test_every_finding_is_an_accepted_one(findings: dict[str, set[Finding]], name: str) -> None:
    entries = accepted_in(name)
    unexplained = sorted(f for f in findings[name] if not is_accepted(f, entries))
    assert unexplained == [], "fix these, or accept them in infra/scan_accepted.json and docs"


@pytest.mark.parametrize("name", STAGES)
def test_every_accepted_finding_still_occurs(findings: dict[str, set[Finding]], name: str) -> None:
    stale = [
        (e["tool"], e["rule"], e["resources"])
        for e in accepted_in(name)
        if not any(is_accepted(f, [e]) for f in findings[name])
    ]
    assert stale == [], "no longer found: remove them from infra/scan_accepted.json and docs"


def test_the_scanners_find_what_the_guard_rails_prevent(
    packaged: dict[str, Path], tmp_path: Path
) -> None:
    """The scanners are live: the template without throttling, access logs and reserved
    concurrency gets findings no entry accepts."""
    bare: dict[str, Any] = json.loads(packaged["prod"].read_text(encoding="utf-8"))
    del bare["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    del bare["Resources"]["WebsocketAPIStage"]["Properties"]["AccessLogSettings"]
    del bare["Resources"]["APIHandler"]["Properties"]["ReservedConcurrentExecutions"]
    template = tmp_path / "bare.json"
    template.write_text(json.dumps(bare), encoding="utf-8")
    found = checkov(template, tmp_path) | serverless_rules(template)
    unexplained = {f for f in found if not is_accepted(f, accepted_in("prod"))}
    assert ("checkov", "CKV_AWS_115", "AWS::Serverless::Function.APIHandler") in unexplained
    assert ("checkov", "CKV_AWS_95", "AWS::ApiGatewayV2::Stage.WebsocketAPIStage") in unexplained
    assert ("cfn-lint-serverless", "ES2003", "RestAPI") in unexplained


def test_the_operations_guide_lists_every_accepted_finding() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = guide.split("## What the scanners find", 1)[1].split("\n## ", 1)[0]
    missing = [e["rule"] for e in ACCEPTED if f"`{e['rule']}`" not in section]
    assert missing == []
