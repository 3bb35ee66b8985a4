"""Mentions in comment bodies: `<@userId>` names a user. Which ids a body names, in order, each
once; whether they become the comment's `mentions` is the service's rule (who can read the
room)."""

from __future__ import annotations

import re

# `<@` + an id a token could be minted for (no spaces or angle brackets, at most 128 characters)
# + `>`. Anything else, `<@ ada>` or `<@>`, is plain text.
MENTION = re.compile(r"<@([^\s<>]{1,128})>")
MENTIONS_MAX = 20  # distinct users one body may mention; later ones stay text


def mentioned(body: str) -> list[str]:
    """The ids the body mentions, in order of first appearance, at most MENTIONS_MAX."""
    found: list[str] = []
    for match in MENTION.finditer(body):
        user_id = match.group(1)
        if user_id not in found:
            found.append(user_id)
            if len(found) == MENTIONS_MAX:
                break
    return found
