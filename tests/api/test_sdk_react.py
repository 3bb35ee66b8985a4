"""`GET /sdk/pulse-react.js` and `.d.ts`: the React bindings import only what a page can resolve,
"react" and the client served beside them (one client module, so one set of rooms), never a copy
of the client; their declarations name the providers and hooks. (Every file's serving:
test_sdk.py.)"""

from __future__ import annotations

import re
from typing import Any

# Every import or re-export of an ES module or declaration file: its specifier.
IMPORTS = re.compile(r"""^\s*(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']""", re.M)
BARE = re.compile(r"""^\s*import\s*["']([^"']+)["']""", re.M)


def specifiers(text: str) -> set[str]:
    return set(IMPORTS.findall(text)) | set(BARE.findall(text))


def test_the_react_module_imports_react_and_the_served_client_only(client: Any) -> None:
    module = client.http.get("/sdk/pulse-react.js").body.decode()
    assert specifiers(module) == {"react", "./pulse-client.js"}
    assert "useSyncExternalStore" in module
    # The client is not bundled in a second time: a message only its code holds is not here.
    mark = "options must be an object"
    assert mark in client.http.get("/sdk/pulse-client.js").body.decode() and mark not in module
    assert "jsx-runtime" not in module  # nothing a page's import map would need besides react


def test_the_react_declarations_name_the_providers_and_hooks(client: Any) -> None:
    types = client.http.get("/sdk/pulse-react.d.ts").body.decode()
    assert specifiers(types) == {"react", "./pulse-client.js"}
    for name in (
        "PulseProvider",
        "RoomProvider",
        "useClient",
        "useRoom",
        "useStatus",
        "useAccess",
        "useSelf",
        "useOthers",
        "useMyPresence",
        "useUpdateMyPresence",
        "useBroadcastEvent",
        "useEventListener",
        "useErrorListener",
        "useThreads",
        "useCreateThread",
        "useCreateComment",
        "useInbox",
    ):
        assert re.search(rf"export declare function {name}\b", types), name
