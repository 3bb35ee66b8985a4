"""The dev stack's headless-client demo page, `GET /demo/headless` (dev tooling, never shipped).

One user's screen of a room, built only on the headless client `/sdk/pulse-client.js` (no
widget): who is here (presence, live), the room's threads and comments (list, post, reply), and
the connection's status. `?user=ada|grace` picks the dev user, `?room=` the room (default the
demo's). The page is headless.html beside this module, a real example a customer could copy: the
server only fills in its configuration (the publishable key, the WebSocket URL, the token URL).
Tokens come from `/demo/token?user=...` (devstack/demo.py), through the client's `tokenUrl`."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from urllib.parse import quote

PAGE_PATH = Path(__file__).resolve().parent / "headless.html"
CONFIG_MARK = "/*{config}*/null"


@functools.cache
def _template() -> str:
    return PAGE_PATH.read_text(encoding="utf-8")


def render_headless(publishable_key: str, ws_url: str, user: str, name: str, room: str) -> str:
    """The page, with its configuration as a JSON literal in its module script."""
    config = {
        "publicApiKey": publishable_key,
        "endpoint": ws_url,
        "tokenUrl": f"/demo/token?user={quote(user, safe='')}",
        "user": user,
        "name": name,
        "room": room,
    }
    # JSON inside <script>: no "</script>" or "<!--" can end it early.
    literal = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e")
    return _template().replace(CONFIG_MARK, literal)
