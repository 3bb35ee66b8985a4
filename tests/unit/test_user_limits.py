"""services/user_limits.py's `admit` on its own: what a connect writes for its user's live
connections."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.entities import Connection
from chalicelib.repositories.user_connections import Entry, UserConnections
from chalicelib.services.user_limits import Admitted, admit

NOW = 1_000_000.0


def connection(connection_id: str, room_id: str = "room-a") -> Connection:
    return Connection(
        id=connection_id,
        env_id="env_1",
        room_id=room_id,
        user_id="ada",
        name="Ada",
        avatar=None,
        color="#000000",
        presence=None,
        domain_name="example.test",
        stage="api",
        publishable_key_id="pk_1",
        secret_key_id="sk_1",
        connected_at="2026-12-07T10:00:00Z",
        expires_at=NOW + 7200,
    )


def settings(per_room: int, per_env: int) -> object:
    class Limits:
        user_connections_per_room = per_room
        user_connections_per_env = per_env

    return Limits()


def test_another_live_connection_is_flagged_shared_and_the_new_one_is_shared() -> None:
    user = UserConnections("env_1", "ada", 3, {"c-old": Entry("room-b", NOW + 60, False)})
    admitted = admit(settings(2, 5), user, connection("c-new"), NOW)  # type: ignore[arg-type]
    assert isinstance(admitted, Admitted)
    assert admitted.write.flag_shared == ("c-old",)
    assert admitted.connection.shared is True and admitted.connection.tracked is True


def test_a_connect_handled_again_is_not_its_own_sibling() -> None:
    """The connection's entry is already stored (its transaction applied, its answer lost):
    admitting it again neither counts it against the limit nor flags it, so the transaction
    does not write and update the same connection item (which DynamoDB refuses)."""
    again = connection("c-1")
    user = UserConnections("env_1", "ada", 4, {"c-1": Entry("room-a", NOW + 7200, False)})
    admitted = admit(settings(1, 1), user, again, NOW)  # type: ignore[arg-type]
    assert isinstance(admitted, Admitted)
    assert admitted.write.flag_shared == ()
    assert admitted.connection == replace(again, tracked=True, shared=False)
    assert admitted.write.entries == {"c-1": Entry("room-a", NOW + 7200, False)}
