"""Error codes come from one module (chalicelib/codes.py): each constant is its own name, no code
is written out as a string where one is raised, and the contract's words cover every code a
route declares."""

from __future__ import annotations

import re
from pathlib import Path

from chalicelib import codes
from infra.openapi_codes import CODES

ROOT = Path(__file__).resolve().parents[2]
CONSTANTS = {name: value for name, value in vars(codes).items() if name.isupper()}
# `code="X"`, `code = "X"`, `"code": "X"`: a code written where it is raised or sent.
LITERAL = re.compile(r'(\bcode\s*=\s*|"code":\s*)"[A-Z][A-Z0-9_]+"')


def test_every_code_is_a_constant_named_as_it_reads() -> None:
    assert CONSTANTS
    assert all(name == value for name, value in CONSTANTS.items())


def test_no_code_is_spelled_out_where_it_is_raised() -> None:
    spelled = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "chalicelib").rglob("*.py"))
        if path.name != "codes.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LITERAL.search(line)
    ]
    assert spelled == [], "use chalicelib/codes.py's constants"


def test_every_documented_code_is_a_constant() -> None:
    assert set(CODES) <= set(CONSTANTS.values())


def test_every_code_a_route_raises_has_its_words_in_the_contract() -> None:
    import app  # noqa: F401 (declares every route)
    from chalicelib.api.routing import ROUTERS

    raised = {code for router in ROUTERS for spec in router.specs for code in spec.doc.raises}
    assert raised
    assert raised <= set(CODES)
