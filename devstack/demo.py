"""The dev stack's widget demo (dev tooling only: never shipped, never in chalicelib/).

`make dev` serves, next to the app's routes:
- `GET /demo`: a page with two `<pulse-widget>`s, for the dev users Ada and Grace, in one room.
- `GET|POST /demo/token?user=ada`: a fresh `{token, expiresAt}` for a dev user, minted through the
  app's real `POST /auth/token` with the Demo environment's `sk_` (the widgets' `token-url`).
- `GET /demo/headless?user=ada&room=demo`: one user's screen built on the headless client alone
  (devstack/headless.py), its tokens from `/demo/token`.

The "Demo" environment is created on first use (so stacks nobody opens the demo in stay as they
were) and its keys are kept in `{PULSE_DATA_DIR}/demo.json` (mode 0600), so the demo works after a
restart. If an operator rotates or revokes its keys, the demo rotates them again (it never saw the
new secret key); if the environment is disabled or gone, a new one is made.
`chalice local`'s server only serves app routes: DemoRequestHandler answers `/demo` itself and
hands everything else to the dev stack's handler (devstack/localhttp.py)."""

from __future__ import annotations

import html
import http.client
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .headless import render_headless
from .localhttp import LocalRequestHandler

log = logging.getLogger("pulse.demo")

DEMO_FILE = "demo.json"
DEMO_ENVIRONMENT = "Demo"
DEMO_ROOM = "demo"
DEMO_ACTOR_EMAIL = "demo@pulse.local"
USERS = {"ada": "Ada Lovelace", "grace": "Grace Hopper"}
MINT_TIMEOUT = 10.0


class DemoError(RuntimeError):
    """The demo cannot mint a token (shown on the page and in the endpoint's answer)."""


@dataclass(frozen=True)
class DemoKeys:
    env_id: str
    publishable_key: str
    secret_key: str


class Demo:
    """The Demo environment's keys (made once, kept in the data dir) and the token minting."""

    def __init__(self, api_url: str, data_dir: Path | None) -> None:
        self.api_url = api_url
        self.ws_url: str | None = None  # set once the WebSocket gateway runs
        self.path = data_dir / DEMO_FILE if data_dir is not None else None  # None: ephemeral
        self._keys: DemoKeys | None = None
        self._lock = threading.Lock()

    def keys(self, *, renew: bool = False) -> DemoKeys:
        with self._lock:
            if self._keys is None:
                self._keys = self._load()
            if self._keys is None:
                self._keys = _create_environment()
                self._save(self._keys)
            elif renew or not _usable(self._keys):
                self._keys = _rotate(self._keys.env_id) or _create_environment()
                self._save(self._keys)
            return self._keys

    def mint(self, user: str) -> dict[str, Any]:
        """{token, expiresAt} for a dev user, from the app's POST /auth/token."""
        name = USERS.get(user)
        if name is None:
            raise DemoError(f"unknown dev user {user!r}; use one of {', '.join(USERS)}")
        for attempt in range(2):
            keys = self.keys(renew=attempt > 0)
            api = urlsplit(self.api_url)
            connection = http.client.HTTPConnection(api.netloc, timeout=MINT_TIMEOUT)
            try:
                connection.request(
                    "POST",
                    "/auth/token",
                    body=json.dumps({"userId": user, "name": name}),
                    headers={
                        "Authorization": f"Bearer {keys.secret_key}",
                        "Content-Type": "application/json",
                    },
                )
                response = connection.getresponse()
                raw = response.read()
                if response.status == 401 and attempt == 0:
                    continue  # the keys died since they were checked: make new ones
                if response.status != 200:
                    raise DemoError(f"POST /auth/token answered {response.status}")
                body: dict[str, Any] = json.loads(raw)
                return {"token": body["token"], "expiresAt": body["expiresAt"]}
            except (OSError, ValueError, KeyError, http.client.HTTPException) as exc:
                raise DemoError(f"POST /auth/token failed: {exc}") from exc
            finally:
                connection.close()
        raise DemoError("POST /auth/token refused fresh keys")

    def _load(self) -> DemoKeys | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return DemoKeys(
                env_id=str(data["environmentId"]),
                publishable_key=str(data["publishableKey"]),
                secret_key=str(data["secretKey"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable %s: a new Demo environment will be made", self.path)
            return None

    def _save(self, keys: DemoKeys) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "environmentId": keys.env_id,
                    "publishableKey": keys.publishable_key,
                    "secretKey": keys.secret_key,
                },
                fh,
                indent=2,
            )
            fh.write("\n")


def _actor() -> Any:
    from chalicelib.entities import Actor

    return Actor(id="dev-stack", email=DEMO_ACTOR_EMAIL, role="owner")


def _pair(env_id: str, keys: list[Any]) -> DemoKeys:
    by_kind = {k.kind: k.key for k in keys}
    publishable, secret = by_kind.get("publishable"), by_kind.get("secret")
    assert publishable and secret, "a new key pair has both keys"
    return DemoKeys(env_id=env_id, publishable_key=publishable, secret_key=secret)


def _rotate(env_id: str) -> DemoKeys | None:
    """New keys for the Demo environment whose keys were rotated or revoked by an operator;
    None when it is gone or disabled."""
    from chalicelib.errors import PulseError
    from chalicelib.runtime import services

    try:
        keys, _ = services().environments.rotate(_actor(), env_id)
    except PulseError:
        return None
    log.info("rotated the keys of the Demo environment %s", env_id)
    return _pair(env_id, keys)


def _usable(keys: DemoKeys) -> bool:
    """The environment is active and both keys are still its active keys."""
    from chalicelib.auth import apikeys
    from chalicelib.repositories import environments as env_repo

    parsed = [apikeys.parse(keys.publishable_key), apikeys.parse(keys.secret_key)]
    if any(p is None or p.env_id != keys.env_id for p in parsed):
        return False
    state = env_repo.get(keys.env_id)
    if state is None or state.environment.status != "active":
        return False
    return all(p is not None and p.key_id in state.active_key_ids for p in parsed)


def _create_environment() -> DemoKeys:
    from chalicelib.runtime import services

    env, keys = services().environments.create(_actor(), DEMO_ENVIRONMENT)
    log.info("created the Demo environment %s", env.id)
    return _pair(env.id, keys)


# --- HTTP ----------------------------------------------------------------------------------------


def is_demo_path(path: str) -> bool:
    return path == "/demo" or path.startswith("/demo/")


class DemoRequestHandler(LocalRequestHandler):
    """The dev stack's request handler (devstack/localhttp.py), plus `/demo` and `/demo/token`."""

    def __init__(
        self,
        request: Any,
        client_address: Any,
        server: Any,
        app_object: Any,
        config: Any,
        demo: Demo,
    ) -> None:
        self.demo = demo  # before the base __init__: it handles the request
        super().__init__(request, client_address, server, app_object, config)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        if not is_demo_path(parts.path):
            self._generic_handle()
            return
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)  # not used; read so the connection stays in step
        if parts.path in ("/demo", "/demo/") and self.command in ("GET", "HEAD"):
            self._page()
        elif parts.path == "/demo/token" and self.command in ("GET", "POST"):
            user = (parse_qs(parts.query).get("user") or [""])[0]
            self._token(user)
        elif parts.path == "/demo/headless" and self.command in ("GET", "HEAD"):
            query = parse_qs(parts.query)
            self._headless((query.get("user") or ["ada"])[0], (query.get("room") or [DEMO_ROOM])[0])
        elif parts.path in ("/demo", "/demo/", "/demo/token", "/demo/headless"):
            self._send(405, "application/json", _error("METHOD_NOT_ALLOWED", "Not allowed."))
        else:
            self._send(404, "application/json", _error("NOT_FOUND", "No such demo page."))

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _token(self, user: str) -> None:
        try:
            body = json.dumps(self.demo.mint(user))
        except DemoError as exc:
            status = 404 if user not in USERS else 502
            self._send(status, "application/json", _error("DEMO_TOKEN", str(exc)))
            return
        self._send(200, "application/json", body)

    def _page(self) -> None:
        try:
            keys = self.demo.keys()
            tokens = {user: self.demo.mint(user)["token"] for user in USERS}
            problem = None if self.demo.ws_url else "The WebSocket gateway is not running."
        except DemoError as exc:
            keys, tokens, problem = None, {}, str(exc)
        page = render_page(keys, tokens, self.demo.ws_url or "", problem)
        self._send(200, "text/html; charset=utf-8", page)

    def _headless(self, user: str, room: str) -> None:
        """The headless client's page (devstack/headless.py) for one dev user in one room."""
        from chalicelib import validation
        from chalicelib.errors import InvalidInput

        if user not in USERS:
            message = f"unknown dev user {user!r}; use one of {', '.join(USERS)}"
            self._send(404, "application/json", _error("DEMO_USER", message))
            return
        try:
            validation.room_id(room, "room")
        except InvalidInput as exc:
            self._send(400, "application/json", _error(exc.code, exc.message))
            return
        try:
            keys = self.demo.keys()
        except DemoError as exc:
            self._send(502, "application/json", _error("DEMO_TOKEN", str(exc)))
            return
        if not self.demo.ws_url:
            problem = "The WebSocket gateway is not running."
            self._send(503, "application/json", _error("DEMO_UNAVAILABLE", problem))
            return
        page = render_headless(keys.publishable_key, self.demo.ws_url, user, USERS[user], room)
        self._send(200, "text/html; charset=utf-8", page)

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _error(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


def render_page(
    keys: DemoKeys | None, tokens: dict[str, str], ws_url: str, problem: str | None
) -> str:
    def attr(value: str) -> str:
        return html.escape(value, quote=True)

    if problem or keys is None:
        cards = f'<p class="problem" role="alert">The demo cannot start: {attr(problem or "")}</p>'
    else:
        cards = "\n".join(
            f"""<section class="card" aria-labelledby="h-{user}">
      <h2 id="h-{user}">{attr(name)}'s screen</h2>
      <div class="pad" data-user="{user}" aria-label="{attr(name)}'s shared cursor area">
        <span class="pad-hint">Move the pointer here: the other screen sees it</span>
      </div>
      <pulse-widget id="widget-{user}" data-user="{user}" api-key="{attr(keys.publishable_key)}"
        token="{attr(tokens[user])}" room="{DEMO_ROOM}" endpoint="{attr(ws_url)}"
        token-url="/demo/token?user={user}"></pulse-widget>
      <details class="log"><summary>Events</summary><ol id="log-{user}"></ol></details>
    </section>"""
            for user, name in USERS.items()
        )
    return PAGE.replace("{cards}", cards).replace("{room}", DEMO_ROOM)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pulse widget demo</title>
<link rel="icon" href="data:,">
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: #1f2328; background: #f3f4f6; }
  header { padding: 20px 24px 8px; max-width: 1100px; margin: 0 auto; }
  h1 { margin: 0 0 4px; font-size: 22px; }
  header p { margin: 0; color: #57606a; max-width: 70ch; }
  code { background: #e7eaee; padding: 1px 5px; border-radius: 4px; font-size: 13px; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 20px;
         padding: 16px 24px 32px; max-width: 1100px; margin: 0 auto; }
  .card { background: #fff; border: 1px solid #d0d7de; border-radius: 14px; padding: 14px;
          min-width: 0; display: flex; flex-direction: column; gap: 10px; }
  .card h2 { margin: 0; font-size: 16px; }
  .pad { position: relative; height: 96px; border: 1px dashed #afb8c1; border-radius: 10px;
         background: repeating-linear-gradient(45deg, #fafbfc, #fafbfc 8px, #f3f4f6 8px,
         #f3f4f6 16px); overflow: hidden; touch-action: none; }
  .pad-hint { position: absolute; inset: 0; display: grid; place-items: center; padding: 8px;
              color: #6e7781; font-size: 13px; text-align: center; pointer-events: none;
              transition: opacity 150ms; }
  .pad:has(.cursor) .pad-hint { opacity: 0.3; }
  .cursor { position: absolute; width: 14px; height: 14px; margin: -7px 0 0 -7px;
            border-radius: 50%; border: 2px solid #fff; box-shadow: 0 0 0 1px rgba(0,0,0,.25);
            pointer-events: none; transition: left 80ms linear, top 80ms linear; }
  .cursor span { position: absolute; left: 14px; top: 10px; font-size: 11px; color: #fff;
                 padding: 0 5px; border-radius: 4px; white-space: nowrap; background: inherit; }
  .log { font-size: 12px; color: #57606a; }
  .log ol { margin: 6px 0 0; padding-left: 18px; max-height: 140px; overflow: auto; }
  .problem { grid-column: 1 / -1; background: #ffebe9; border: 1px solid #ff8182; padding: 12px;
             border-radius: 10px; }
  @media (max-width: 480px) {
    header { padding: 14px 14px 4px; }
    main { padding: 12px 10px 24px; gap: 14px; grid-template-columns: minmax(0, 1fr); }
    .card { padding: 10px; }
  }
</style>
</head>
<body>
<header>
  <h1>Pulse widget demo</h1>
  <p>Two dev users, Ada and Grace, in the room <code>{room}</code> of the dev stack's
  <em>Demo</em> environment: each <code>&lt;pulse-widget&gt;</code> is its own connection, as
  in two browsers. Comment in one and watch the other. Development only.</p>
</header>
<main>
{cards}
</main>
<script src="/sdk/pulse.js"></script>
<script>
(function () {
  "use strict";
  var widgets = document.querySelectorAll("pulse-widget");
  widgets.forEach(function (widget) {
    var user = widget.dataset.user;
    var pad = document.querySelector('.pad[data-user="' + user + '"]');
    var log = document.getElementById("log-" + user);
    var cursors = new Map();
    function note(text) {
      var li = document.createElement("li");
      li.textContent = new Date().toLocaleTimeString() + " " + text;
      log.prepend(li);
      while (log.children.length > 50) log.lastChild.remove();
    }
    ["pulse:connected", "pulse:disconnected", "pulse:error"].forEach(function (name) {
      widget.addEventListener(name, function (e) {
        note(name + " " + JSON.stringify(e.detail));
      });
    });
    pad.addEventListener("pointermove", function (e) {
      var box = pad.getBoundingClientRect();
      widget.updatePresence({
        cursor: [
          Math.round(((e.clientX - box.left) / box.width) * 1000) / 1000,
          Math.round(((e.clientY - box.top) / box.height) * 1000) / 1000,
        ],
      });
    });
    pad.addEventListener("pointerleave", function () {
      widget.updatePresence({ cursor: null });
    });
    function draw() {
      var seen = new Set();
      widget.others.forEach(function (m) {
        var at = m.presence && m.presence.cursor;
        if (!Array.isArray(at)) return;
        seen.add(m.connectionId);
        var dot = cursors.get(m.connectionId);
        if (!dot) {
          dot = document.createElement("div");
          dot.className = "cursor";
          dot.appendChild(document.createElement("span"));
          pad.appendChild(dot);
          cursors.set(m.connectionId, dot);
        }
        dot.style.background = m.color;
        dot.firstChild.textContent = m.name;
        dot.style.left = at[0] * 100 + "%";
        dot.style.top = at[1] * 100 + "%";
      });
      cursors.forEach(function (dot, id) {
        if (!seen.has(id)) {
          dot.remove();
          cursors.delete(id);
        }
      });
    }
    widget.addEventListener("pulse:presence", draw);
    widget.addEventListener("pulse:members", draw);
  });
})();
</script>
</body>
</html>
"""
