"""`GET /sdk/<file>`: the browser SDK's built files (chalicelib/static/sdk/), public and cacheable,
each with its type; one in the table not built yet is a 404 (a name outside it: tests/e2e/
test_http_answers.py, as the local stack answers unknown paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.api import sdk

from .helpers import each, error

BUILT = Path(sdk.__file__).resolve().parents[1] / "static" / "sdk"


def test_every_built_file_is_served_as_is_with_its_type(client: Any) -> None:
    names = [name for name in sdk.FILES if (BUILT / name).is_file()]
    assert {"pulse.js", "pulse-client.js", "pulse-client.d.ts"} <= set(names)

    def check(name: str) -> None:
        resp = client.http.get(f"/sdk/{name}")
        assert resp.status_code == 200, resp.status_code
        assert resp.headers["Content-Type"] == sdk.FILES[name]
        assert resp.headers["Cache-Control"] == "public, max-age=300"
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert resp.body.decode("utf-8") == (BUILT / name).read_text(encoding="utf-8")

    each(names, check)


def test_the_client_is_an_es_module_with_its_declarations(client: Any) -> None:
    module = client.http.get("/sdk/pulse-client.js").body.decode("utf-8")
    types = client.http.get("/sdk/pulse-client.d.ts").body.decode("utf-8")

    assert "export {" in module and "createClient" in module
    assert "export declare function createClient(options: ClientOptions): Client;" in types
    assert "export interface Room {" in types
    # One file of declarations: nothing imported from files that are not served.
    assert "from './" not in types and 'from "./' not in types
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in module


def test_a_file_in_the_table_that_is_not_built_is_a_404_not_a_500(
    client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pulse.js").write_text("// widget", encoding="utf-8")
    monkeypatch.setattr(sdk, "STATIC_DIR", tmp_path)
    sdk.text.cache_clear()
    try:
        err = error(client.http.get("/sdk/pulse-react.js"), 404, "ASSET_NOT_FOUND")
        assert "pulse-react.js" in err["message"]
        assert client.http.get("/sdk/pulse.js").body == b"// widget"
    finally:
        sdk.text.cache_clear()
