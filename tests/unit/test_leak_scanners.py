"""The leaked-key scanners shipped in tools/leaks/ (docs/keys.md): detect-secrets (from PyPI,
run as a customer runs it) with the Pulse plugin finds exactly the real secret and restricted
keys in a file, not the near misses (one character changed: the checksum refuses them) nor the
publishable keys; the gitleaks rules (parsed from their TOML) match the same shapes; the
published regular expressions match every key of their kind."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from chalicelib import ids
from chalicelib.auth import apikeys

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "tools" / "leaks" / "pulse_detect_secrets.py"
GITLEAKS = ROOT / "tools" / "leaks" / "gitleaks.toml"
DETECT_SECRETS = Path(sys.executable).parent / "detect-secrets"
# What docs/keys.md publishes, copied here: a change to the format must change the docs too.
PUBLISHED = {
    "publishable": r"\bpk_[0-9A-Za-z]{60}\b",
    "secret": r"\bsk_[0-9A-Za-z]{60}\b",
    "restricted": r"\brk_[0-9A-Za-z]{60}\b",
}


def key(kind: apikeys.KeyKind) -> str:
    return apikeys.generate(kind, ids.new_id("env"), ids.new_id("key"))


def near_misses(real: str) -> list[str]:
    """The key with one character changed: in its environment id, its secret, its checksum."""
    out = []
    for i in (5, 3 + 2 * ids.RAW_ID_CHARS + 7, len(real) - 1):
        swapped = "x" if real[i] != "x" else "y"
        out.append(real[:i] + swapped + real[i + 1 :])
    for miss in out:
        assert apikeys.parse(miss) is None  # the product refuses them too
    return out


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def corpus() -> tuple[str, set[str], set[str]]:
    """A file's text, the secret keys in it, and the near misses and public keys in it."""
    secrets = [key("secret"), key("secret"), key("restricted"), key("restricted")]
    public = [key("publishable")]
    misses = [miss for real in secrets for miss in near_misses(real)]
    lines = [
        f'PULSE_SECRET_KEY = "{secrets[0]}"',
        f"export PULSE_KEY={secrets[1]}",
        json.dumps({"restricted": secrets[2], "note": "support bot"}),
        f"curl -H 'Authorization: Bearer {secrets[3]}' https://api.example.com/api/v1/rooms",
        f'<pulse-widget api-key="{public[0]}"></pulse-widget>',
        *(f"typo_{n} = '{miss}'" for n, miss in enumerate(misses)),
    ]
    return "\n".join(lines) + "\n", set(secrets), set(misses) | set(public)


def test_detect_secrets_with_the_plugin_finds_exactly_the_real_keys(tmp_path: Path) -> None:
    text, secrets, others = corpus()
    target = tmp_path / "settings.py"
    target.write_text(text)

    run = subprocess.run(
        [str(DETECT_SECRETS), "scan", "--plugin", str(PLUGIN), str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)["results"]
    found = {
        r["hashed_secret"]
        for entries in results.values()
        for r in entries
        if r["type"] == "Pulse API Key"
    }
    assert found == {sha1(s) for s in secrets}
    assert not found & {sha1(o) for o in others}


def test_the_plugin_checks_the_checksum_as_the_product_does() -> None:
    sys.path.insert(0, str(PLUGIN.parent))
    try:
        import pulse_detect_secrets as plugin
    finally:
        sys.path.remove(str(PLUGIN.parent))
    for _ in range(50):
        real = key("secret")
        assert plugin.is_pulse_key(real) and plugin.checksum(real[:-6]) == real[-6:]
        assert not any(plugin.is_pulse_key(m) for m in near_misses(real))


def test_the_gitleaks_rules_match_the_secret_keys_and_not_the_public_ones() -> None:
    rules = tomllib.loads(GITLEAKS.read_text())["rules"]
    by_id = {rule["id"]: re.compile(rule["regex"]) for rule in rules}
    assert set(by_id) == {"pulse-secret-key", "pulse-restricted-key"}
    for kind, rule_id in (("secret", "pulse-secret-key"), ("restricted", "pulse-restricted-key")):
        real = key(kind)
        for line in (real, f'"{real}"', f"KEY={real}\n", f"Bearer {real} "):
            match = by_id[rule_id].search(line)
            assert match is not None and match.group(1) == real, (rule_id, line)
        assert all(
            keyword in real for keyword in next(r for r in rules if r["id"] == rule_id)["keywords"]
        )
        # longer or shorter runs of key characters are not keys
        assert by_id[rule_id].search(real + "a") is None
        assert by_id[rule_id].search(real[:-1]) is None
    public = key("publishable")
    assert not any(rule.search(public) for rule in by_id.values())


def test_the_published_regular_expressions_match_every_key_of_their_kind() -> None:
    docs = (ROOT / "docs" / "keys.md").read_text()
    for kind, pattern in PUBLISHED.items():
        assert f"`{pattern}`" in docs, kind
        compiled = re.compile(pattern)
        for _ in range(20):
            real = key(kind)
            assert compiled.fullmatch(real), real
            others = [k for k in PUBLISHED if k != kind]
            assert not any(re.compile(PUBLISHED[o]).fullmatch(real) for o in others)
