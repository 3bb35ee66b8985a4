"""The React bindings (`/sdk/pulse-react.js`) in real Chromium against the real local stack, loaded
as the docs say a page without a build would: an import map names where "react" comes from, and
the bindings come from the API, importing the client served beside them.

The customer's site (test_widget.CustomerSite) serves the page, its app (plain createElement, no
JSX) and an ES module build of React made from sdk/browser's node_modules with its esbuild: React
publishes CommonJS only. The app runs under StrictMode, as a React app in development does."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, WebSocket, expect

from . import test_widget as widget_tests
from .conftest import Stack
from .test_widget import CustomerSite, Env

pytestmark = pytest.mark.e2e

SDK = Path(__file__).resolve().parents[2] / "sdk" / "browser"

# The widget tests' fixtures (their module's stack fixture is the package's: one per module).
env = widget_tests.env
site = widget_tests.site
contexts = widget_tests.contexts

APP = """
import { StrictMode, createElement as h, createRoot, useEffect, useState } from "react";
import {
  PulseProvider, RoomProvider, useCreateThread, useMyPresence, useOthers, useStatus, useThreads,
} from "%(api)s/sdk/pulse-react.js";

const config = JSON.parse(document.getElementById("config").textContent);

function Room() {
  const status = useStatus();
  const others = useOthers();
  const [presence, update] = useMyPresence();
  const { threads } = useThreads();
  const createThread = useCreateThread();
  const [body, setBody] = useState("");
  useEffect(() => { window.mounts = (window.mounts || 0) + 1; }, []); // StrictMode: twice
  const post = (event) => {
    event.preventDefault();
    createThread({ body }).then((thread) => { window.created = thread.id; });
    setBody("");
  };
  return h("main", { id: "room", "data-status": status },
    h("p", { id: "mood" }, presence ? presence.mood : "-"),
    h("button", { type: "button", onClick: () => update({ mood: "happy" }) }, "Be happy"),
    h("ul", { id: "others" }, others.map((o) =>
      h("li", { key: o.connectionId, "data-user-id": o.userId },
        o.name + " is " + o.presence?.mood))),
    h("form", { onSubmit: post },
      h("input", {
        "aria-label": "New thread", value: body, onChange: (e) => setBody(e.target.value),
      }),
      h("button", { type: "submit" }, "Post")),
    h("ol", { id: "threads" }, threads.map((t) =>
      h("li", { key: t.id }, t.comments.map((c) => c.body).join(" / ")))));
}

createRoot(document.getElementById("root")).render(
  h(StrictMode, null,
    h(PulseProvider, { publicApiKey: config.pk, endpoint: config.endpoint, token: config.token },
      h(RoomProvider, { roomId: config.room, initialPresence: { mood: "calm" } }, h(Room)))));
"""


def react_module() -> str:
    """React and react-dom/client as one ES module, from sdk/browser's node_modules: every named
    export of React, and createRoot. Development builds: StrictMode mounts twice only there,
    and React's warnings (console errors) fail the test."""
    esbuild = SDK / "node_modules" / ".bin" / "esbuild"
    assert esbuild.exists(), "run `make test` (or npm ci in sdk/browser) to install esbuild"
    development = {**os.environ, "NODE_ENV": "development"}
    names = subprocess.run(
        ["node", "-p", "Object.keys(require('react')).join(' ')"],
        cwd=SDK,
        env=development,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    entry = (
        'import * as React from "react";\n'
        'export { createRoot } from "react-dom/client";\n'
        f"export const {{ {', '.join(n for n in names if n.isidentifier())} }} = React;\n"
        "export default React;\n"
    )
    built = subprocess.run(
        [str(esbuild), "--bundle", "--format=esm", '--define:process.env.NODE_ENV="development"'],
        cwd=SDK,
        input=entry,
        capture_output=True,
        text=True,
        check=True,
    )
    return built.stdout


@pytest.fixture(scope="module")
def react_site(stack: Stack, site: CustomerSite) -> CustomerSite:
    """The site serves React (as an ES module) and the app."""
    react = react_module()
    app = APP % {"api": stack.url}
    site.answers["/vendor/react.js"] = lambda: (200, "text/javascript; charset=utf-8", react)
    site.answers["/app.js"] = lambda: (200, "text/javascript; charset=utf-8", app)
    return site


class ReactPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.sockets: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.problems: list[str] = []
        page.on("websocket", self._on_socket)
        page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))

    def _on_socket(self, ws: WebSocket) -> None:
        self.sockets.append(ws.url)
        ws.on("framesent", lambda payload: self.sent.append(json.loads(payload)))

    def other(self, user: str) -> Any:
        return self.page.locator(f"#others li[data-user-id='{user}']")


def open_app(
    stack: Stack, env: Env, site: CustomerSite, context: BrowserContext, user: str, room: str
) -> ReactPage:
    key = uuid.uuid4().hex[:8]
    config = {
        "pk": env.pk,
        "endpoint": stack.ws_url,
        "token": env.mint(user, user.title()),
        "room": room,
    }
    site.pages[f"/react-{key}"] = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>React app</title>
<script type="importmap">{{"imports": {{"react": "/vendor/react.js"}}}}</script>
<script type="application/json" id="config">{json.dumps(config)}</script>
<script type="module" src="/app.js"></script>
</head><body><div id="root"></div></body></html>"""
    page = ReactPage(context.new_page())
    page.page.goto(f"{site.url}/react-{key}")
    expect(page.page.locator("#room")).to_have_attribute("data-status", "connected")
    return page


def test_two_react_apps_share_presence_and_threads_live(
    stack: Stack, env: Env, react_site: CustomerSite, contexts: Callable[[], BrowserContext]
) -> None:
    room = f"react-{uuid.uuid4().hex[:10]}"
    ada = open_app(stack, env, react_site, contexts(), "ada", room)
    grace = open_app(stack, env, react_site, contexts(), "grace", room)

    # Presence: each app shows the other with its initial presence, then its update.
    expect(ada.other("grace")).to_have_text("Grace is calm")
    expect(grace.other("ada")).to_have_text("Ada is calm")
    expect(ada.page.locator("#mood")).to_have_text("calm")
    ada.page.get_by_role("button", name="Be happy").click()
    expect(ada.page.locator("#mood")).to_have_text("happy")
    expect(grace.other("ada")).to_have_text("Ada is happy")

    # Threads: one posted through useCreateThread shows in both apps' useThreads.
    body = f"Ship the React app? ({uuid.uuid4().hex[:6]})"
    grace.page.get_by_label("New thread").fill(body)
    grace.page.get_by_role("button", name="Post").click()
    expect(ada.page.locator("#threads li")).to_have_text([body])
    expect(grace.page.locator("#threads li")).to_have_text([body])
    assert grace.page.evaluate("window.created").startswith("th_")

    # StrictMode mounted every provider twice: still one socket per app, and one join each.
    assert ada.page.evaluate("window.mounts") == 2
    assert len(ada.sockets) == 1 and len(grace.sockets) == 1, (ada.sockets, grace.sockets)
    assert [f["type"] for f in ada.sent].count("join") == 1
    assert ada.problems == [] and grace.problems == []
