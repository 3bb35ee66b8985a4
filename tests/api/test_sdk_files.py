"""The browser SDK's files under /sdk/: each built file is served, byte for byte, as public
cacheable JavaScript or TypeScript, and the ES modules import only what a page can resolve:
the React bindings load "react" and the client served beside them, never a copy of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chalicelib.api import sdk

from .helpers import each

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "chalicelib" / "static" / "sdk"
# Every import or re-export of an ES module or declaration file: its specifier.
IMPORTS = re.compile(r"""^\s*(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']""", re.M)


def specifiers(text: str) -> set[str]:
    return set(IMPORTS.findall(text)) | set(re.findall(r"""^import\s*["']([^"']+)["']""", text))


def test_every_built_file_is_served_as_is(client: Any) -> None:
    assert sorted(sdk.FILES) == sorted(p.name for p in BUILT.iterdir()), "one row per file"

    def check(name: str) -> None:
        response = client.http.get(f"/sdk/{name}")
        assert response.status_code == 200, (name, response.status_code)
        assert response.body == (BUILT / name).read_bytes()
        kind = "application/typescript" if name.endswith(".d.ts") else "text/javascript"
        assert response.headers["Content-Type"] == f"{kind}; charset=utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=300"
        assert response.headers["Access-Control-Allow-Origin"] == "*"

    each(sorted(sdk.FILES), check)


def test_an_unknown_sdk_file_is_not_served(client: Any) -> None:
    for path in ("/sdk/pulse-react.ts", "/sdk/../openapi.json", "/sdk/pulse.js.map"):
        assert client.http.get(path).status_code in (403, 404), path


def test_the_react_bindings_import_react_and_the_served_client_only(client: Any) -> None:
    module = client.http.get("/sdk/pulse-react.js").body.decode()
    assert specifiers(module) == {"react", "./pulse-client.js"}
    assert "createClient" in module and "useSyncExternalStore" in module
    assert "function createClient" not in module  # the client is not bundled in a second time
    types = client.http.get("/sdk/pulse-react.d.ts").body.decode()
    assert specifiers(types) == {"react", "./pulse-client.js"}
    for name in ("PulseProvider", "RoomProvider", "useOthers", "useThreads", "useInbox"):
        assert re.search(rf"export declare function {name}\b", types), name


def test_the_client_module_stands_alone(client: Any) -> None:
    module = client.http.get("/sdk/pulse-client.js").body.decode()
    assert specifiers(module) == set()
    assert re.search(r"export\s*\{[^}]*\bcreateClient\b", module)
    types = client.http.get("/sdk/pulse-client.d.ts").body.decode()
    assert specifiers(types) == set()
    assert "export declare function createClient(options: ClientOptions): Client" in types
