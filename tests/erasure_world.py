"""An environment to erase a user from, built through the REST API (in process or over HTTP),
and what the erasure tests check in the tables afterwards: full dumps (a Scan, here only),
others' items before and after, and every counter recomputed from a walk of the items."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from chalicelib.repositories import usage_days

Call = Callable[[str, str, Any], tuple[int, Any]]  # (method, path, body) -> (status, JSON)

TARGET = "ada"
NAME = "Ada Quibblesworth"
AVATAR = "https://example.com/ada-quibble.png"
OTHERS = {"bob": "Bob Marchetti", "cy": "Cy Okonkwo"}


@dataclass
class World:
    """What was made: thread ids by name, the ids of comments by who wrote them."""

    threads: dict[str, str] = field(default_factory=dict)
    rooms: tuple[str, ...] = ("erase-room-1", "erase-room-2")
    comments: dict[str, list[str]] = field(default_factory=dict)


def _ok(status: int, body: Any, want: int = 200) -> Any:
    assert status == want, (status, body)
    return body


def build(call: Call, *, prefix: str = "") -> World:
    """Three users, two rooms, threads of every shape an erase meets: started by the user with
    replies (a tombstone stays), only the user's (the thread goes), started by the user with
    the user's own reply and others' (a tombstone; the reply goes), started by others with the
    user's replies, mentions and reactions both ways, subscriptions and settings."""
    w = World(rooms=tuple(prefix + r for r in World().rooms))
    for user_id, name in {TARGET: NAME, **OTHERS}.items():
        body: dict[str, Any] = {"userId": user_id, "name": name}
        if user_id == TARGET:
            body["avatar"] = AVATAR
        _ok(*call("POST", "/auth/token", body))
    r1, r2 = w.rooms
    for room in w.rooms:
        _ok(*call("POST", "/api/v1/rooms", {"id": room}), want=201)

    def thread(name: str, room: str, user: str, text: str) -> str:
        got = _ok(
            *call(
                "POST",
                f"/api/v1/rooms/{room}/threads",
                {"comment": {"userId": user, "body": text}},
            ),
            want=201,
        )
        w.threads[name] = got["id"]
        first = got["comments"][0]["id"]
        w.comments.setdefault(user, []).append(first)
        return str(first)

    def comment(name: str, room: str, user: str, text: str) -> str:
        got = _ok(
            *call(
                "POST",
                f"/api/v1/rooms/{room}/threads/{w.threads[name]}/comments",
                {"userId": user, "body": text},
            ),
            want=201,
        )
        w.comments.setdefault(user, []).append(got["id"])
        return str(got["id"])

    def react(name: str, room: str, comment_id: str, user: str, emoji: str) -> None:
        path = f"/api/v1/rooms/{room}/threads/{w.threads[name]}/comments/{comment_id}/reactions"
        _ok(*call("POST", path, {"userId": user, "emoji": emoji}))

    started = thread("started", r1, TARGET, "Shall we ship on Tuesday?")
    bob_reply = comment("started", r1, "bob", f"Yes <@{TARGET}>, Tuesday.")
    react("started", r1, started, "bob", "👍")
    react("started", r1, bob_reply, TARGET, "🎉")
    react("started", r1, bob_reply, "cy", "🎉")
    thread("alone", r1, TARGET, "A note to self.")
    comment("alone", r1, TARGET, "And another one.")
    thread("own-reply", r2, TARGET, "Draft 1")
    comment("own-reply", r2, TARGET, "Draft 2")
    comment("own-reply", r2, "cy", "Looks good.")
    bob_first = thread("others", r2, "bob", f"Review please <@{TARGET}> and <@cy>")
    ada_reply = comment("others", r2, TARGET, "On it.")
    comment("others", r2, "cy", f"Thanks <@{TARGET}>!")
    react("others", r2, bob_first, TARGET, "👀")
    react("others", r2, ada_reply, "cy", "👍")
    thread("untouched", r2, "cy", "Nothing about her here.")
    path = f"/api/v1/rooms/{r2}/threads/{w.threads['others']}"
    _ok(*call("PATCH", path, {"resolved": True}))
    subscribe = f"/api/v1/rooms/{r2}/threads/{w.threads['untouched']}/subscribe"
    _ok(*call("POST", subscribe, {"userId": TARGET}))
    setting = f"/api/v1/rooms/{quote(r1)}/users/{TARGET}/notification-settings"
    _ok(*call("PUT", setting, {"setting": "mentions"}))
    return w


# --- what the tests read ----------------------------------------------------------------------


def text_of(item: dict[str, Any]) -> str:
    return json.dumps(item, ensure_ascii=False, sort_keys=True)


def names_user(item: dict[str, Any], user_id: str = TARGET) -> bool:
    """Whether an item (DynamoDB JSON) holds anything of the user: their id as a key part or
    value, their name, avatar or mention markup."""
    text = text_of(item)
    id_forms = (
        f'"{user_id}"',
        f'#{user_id}"',
        f"#{user_id}#",
        f"<@{user_id}>",
        f'\\"{user_id}\\"',
    )
    return (
        any(form in text for form in id_forms)
        or NAME in text
        or AVATAR in text
        or NAME.split()[1] in text
    )


def erasure_records(item: dict[str, Any], env_id: str) -> bool:
    """The erasure's own records, which name the user by design: its job item, and the audit
    events that say who was erased, how, by which key and with what outcome."""
    pk, sk = item["pk"]["S"], item["sk"]["S"]
    return pk == f"ENV#{env_id}#JOBS" or (pk == f"ENV#{env_id}" and sk.startswith("AUDIT#"))


def of_env(items: list[dict[str, Any]], env_id: str) -> list[dict[str, Any]]:
    return [i for i in items if i["pk"]["S"].startswith(f"ENV#{env_id}")]


COUNT_FIELDS = {"comment_count", "thread_count", "updated_at", "connections", "users"}


def others(items: list[dict[str, Any]], env_id: str) -> dict[tuple[str, str], str]:
    """Every item of the environment that holds nothing of the user, but for counters (which
    the tests check by a recount), rate counters, the usage meter's counters (every request
    adds to them) and the erasure's records: key -> its text."""
    out = {}
    mine = {  # the user's comments: others' reactions to them, and their files, go with them
        i["sk"]["S"][8:]
        for i in items
        if i["sk"]["S"].startswith("COMMENT#") and i.get("user_id", {}).get("S") == TARGET
    }
    for item in of_env(items, env_id):
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if names_user(item) or erasure_records(item, env_id) or sk in ("STATS",):
            continue
        if sk.startswith(usage_days.SK_PREFIXES):  # the usage meter's counters
            continue
        if sk.startswith("REACT#") and sk.split("#")[1] in mine:
            continue
        if sk == "ATT" and item.get("comment_id", {}).get("S") in mine:  # the user's uploads
            continue
        if sk.startswith(("DAY#", "SEQ#", "HEAD", "MUT#", "IDEM")) or "#IDEM#" in pk:
            continue
        kept = {k: v for k, v in item.items() if k not in COUNT_FIELDS}
        out[(pk, sk)] = text_of(kept)
    return out


def number(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def recount(items: list[dict[str, Any]], env_id: str) -> list[str]:
    """Every counter that differs from a walk of the items (empty: all exact)."""
    env = f"ENV#{env_id}"
    rooms = {
        i["sk"]["S"][5:]: i
        for i in items
        if i["pk"]["S"] == env and i["sk"]["S"].startswith("ROOM#")
    }
    threads = [
        i
        for i in items
        if i["pk"]["S"].startswith(f"{env}#ROOM#") and i["sk"]["S"].startswith("THREAD#")
    ]
    comments: dict[str, int] = {}
    for i in items:
        if i["pk"]["S"].startswith(f"{env}#THREAD#") and i["sk"]["S"].startswith("COMMENT#"):
            thread_id = i["pk"]["S"].split("#THREAD#")[1]
            comments[thread_id] = comments.get(thread_id, 0) + 1
    wrong = []
    per_room: dict[str, list[int]] = {r: [0, 0] for r in rooms}
    for t in threads:
        thread_id = t["id"]["S"]
        room = rooms.get(t["room_id"]["S"])
        if room is None or room["gen"]["S"] != t["room_gen"]["S"]:
            continue
        found = comments.get(thread_id, 0)
        if number(t, "comment_count") != found:
            wrong.append(f"thread {thread_id}: {number(t, 'comment_count')} != {found}")
        per_room[t["room_id"]["S"]][0] += 1
        per_room[t["room_id"]["S"]][1] += found
    for room_id, (n_threads, n_comments) in per_room.items():
        held = (number(rooms[room_id], "thread_count"), number(rooms[room_id], "comment_count"))
        if held != (n_threads, n_comments):
            wrong.append(f"room {room_id}: {held} != {(n_threads, n_comments)}")
    stats = next((i for i in items if i["pk"]["S"] == env and i["sk"]["S"] == "STATS"), {})
    users = sum(1 for i in items if i["pk"]["S"] == env and i["sk"]["S"].startswith("USER#"))
    walked = (
        len(rooms),
        sum(n for n, _ in per_room.values()),
        sum(c for _, c in per_room.values()),
        users,
    )
    held_stats = tuple(number(stats, k) for k in ("rooms", "threads", "comments", "users"))
    if held_stats != walked:
        wrong.append(f"STATS {held_stats} != {walked}")
    for item in items:  # each user's inbox count equals their entries with unread comments
        if item["pk"]["S"].startswith(f"{env}#INBOX#") and item["sk"]["S"] == "COUNT":
            pk = item["pk"]["S"]
            entries = sum(1 for i in items if i["pk"]["S"] == pk and i["sk"]["S"].startswith("L#"))
            if number(item, "total") != entries:
                wrong.append(f"inbox {pk}: {number(item, 'total')} != {entries}")
    return wrong


def reaction_summaries(items: list[dict[str, Any]], env_id: str) -> list[str]:
    """Every comment's reaction summary that differs from its reaction items."""
    env = f"ENV#{env_id}#THREAD#"
    wrong = []
    reacts: dict[tuple[str, str], list[str]] = {}
    for i in items:
        pk, sk = i["pk"]["S"], i["sk"]["S"]
        if pk.startswith(env) and sk.startswith("REACT#"):
            reacts.setdefault((pk, sk.split("#")[1]), []).append(
                f"{i['emoji']['S']}|{i['user_id']['S']}"
            )
    for i in items:
        pk, sk = i["pk"]["S"], i["sk"]["S"]
        if pk.startswith(env) and sk.startswith("COMMENT#"):
            summary = json.loads(i["reactions"]["S"]) if "reactions" in i else []
            held = sorted(f"{r['emoji']}|{u}" for r in summary for u in r["userIds"])
            found = sorted(reacts.pop((pk, sk[8:]), []))
            if held != found:
                wrong.append(f"{sk}: {held} != {found}")
    wrong += [f"orphan reactions of {k}" for k in reacts]
    return wrong
