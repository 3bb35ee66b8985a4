"""Erasing a user (POST /users/{userId}/erase): the job, and the rules of each bounded step that
walks the environment's data and changes what names the user (docs/privacy.md).

A job walks every room (and every room whose purge is pending), each room's threads of every
generation, each thread's comment partition (comments, then reactions), then the room's event
log; then the partitions that are the user's own, then the user's item. Every read is a Query or
GetItem on a known key: no Scan, and no index, because others' comments that mention the user are
found only by reading them. A step reads at most STEP_ITEMS items; its cursor is saved with each
change (repositories/erasure.py), and the next step is an SQS message, so a room of any size
never has to fit one Lambda run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from .. import codes, ids, jsontext
from ..clock import Clock, iso
from ..config import Settings
from ..entities import Actor, AuditEvent, Comment, EraseJob, Reaction, User
from ..errors import NotFound, Unavailable
from ..repositories.erasure import JobMoved, JobState, JobWrite, Reacted
from ..repositories.reads import Read, fetch
from ..repositories.rooms import ThreadState, reactions_text
from .attachments import file_key
from .authority import Authority
from .callers import SecretKeyCaller
from .channel import RoomChannel
from .ports import AuditStore, ConnectionStore, DeliveryQueue, ErasureStore, FileStore, UserStore

log = logging.getLogger("pulse.erasure")

ERASE_JOB = "erase"  # the queue message's `job`
PLACEHOLDER = "Deleted user"  # an anonymized user's name, and what replaces their mentions
TOMBSTONE_AUTHOR = "~deleted"  # a tombstone's userId: no user id can start with `~`
STEP_ITEMS = 200  # items a step reads (and at most changes) before handing over to the next
PAGE = 50
MAX_FAILURES = 5  # steps failing in a row before the job is marked failed
CLOCK_SKEW_SECONDS = 5  # the servers that verify tokens keep synchronized clocks
Mode = Literal["anonymize", "delete"]


def job_not_found() -> NotFound:
    return NotFound("No erase job with this id for this user.", code=codes.JOB_NOT_FOUND)


@dataclass
class _Step:
    """One step's state: the job as last committed, its walk's cursor (saved with each change)
    and the reads left."""

    state: JobState
    cursor: dict[str, Any]
    left: int
    user: User | None

    @property
    def gen(self) -> str | None:
        """The current room's generation, read when the walk entered it (None: no room)."""
        gen = self.cursor.get("gen")
        return str(gen) if gen is not None else None

    @property
    def env_id(self) -> str:
        return self.state.env_id

    @property
    def job(self) -> EraseJob:
        return self.state.job


class ErasureService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        authority: Authority,
        channel: RoomChannel,
        *,
        store: ErasureStore,
        users: UserStore,
        connections: ConnectionStore,
        audit: AuditStore,
        queue: DeliveryQueue,
        files: FileStore | None,
        on_thread_gone: Callable[[str, str, str], None],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.authority = authority
        self.channel = channel
        self.store = store
        self.users = users
        self.connections = connections
        self.audit = audit
        self.queue = queue
        self.files = files
        self.on_thread_gone = on_thread_gone

    # --- the API -----------------------------------------------------------------------------

    def start(self, caller: SecretKeyCaller, user_id: str, mode: Mode) -> EraseJob:
        """A queued job for an existing user (404 USER_NOT_FOUND otherwise), audited."""
        user_read = self.users.user_read(caller.env_id, user_id)
        got = self.authority.load(caller, user_read)
        if got[user_read] is None:
            raise NotFound("No user with this id in the environment.", code=codes.USER_NOT_FOUND)
        now = iso(self.clock.now())
        job = EraseJob(
            id=ids.new_id("job"),
            user_id=user_id,
            mode=mode,
            status="queued",
            phase="tokens",
            created_at=now,
            updated_at=now,
            finished_at=None,
            error=None,
        )
        key_id = caller.parsed.key_id
        state = JobState(caller.env_id, job, key_id, {})
        self.store.create_job(state, self._audit_event(state, "user.erase.requested", now))
        try:
            self.queue.send(self._message(state))
        except Exception as exc:  # nothing would ever run it: the job ends here, and says why
            log.exception("erase job not queued", extra={"jobId": job.id})
            self.store.record_failure(state, now, "The job could not be queued.", failed=True)
            raise Unavailable("The job could not be queued; retry shortly.") from exc
        return job

    def get(self, caller: SecretKeyCaller, user_id: str, job_id: str) -> EraseJob:
        read: Read[JobState | None] = self.store.job_read(caller.env_id, job_id)
        if not ids.raw_part(job_id, "job"):
            self.authority.load(caller)
            raise job_not_found()
        state = self.authority.load(caller, read)[read]
        if state is None or state.job.user_id != user_id:
            raise job_not_found()
        return state.job

    # --- the queue ---------------------------------------------------------------------------

    def on_step(self, message: dict[str, Any]) -> None:
        """One step of a job. Raising leaves the message on the queue: SQS hands it over again,
        and the step resumes from the cursor its last change saved."""
        state = self.store.get_job(str(message.get("envId", "")), str(message.get("jobId", "")))
        if state is None or state.job.status in ("succeeded", "failed"):
            return
        try:
            step = self._run(state)
        except JobMoved:
            log.info("erase step superseded", extra={"jobId": state.job.id})
            return
        except Exception:
            failed = state.failures + 1 >= MAX_FAILURES
            now = iso(self.clock.now())
            reason = "A step failed; it is retried." if not failed else "The job failed."
            # Not recorded when the step made progress first (the version moved): then it is not
            # a failure in a row, and the message must come back.
            failed = self.store.record_failure(state, now, reason, failed) and failed
            log.exception("erase step failed", extra={"jobId": state.job.id, "final": failed})
            if failed:
                self._audit(
                    replace(state, job=replace(state.job, status="failed")),
                    "user.erase.failed",
                    now,
                )
                return
            raise
        if step.job.status == "succeeded":
            self._audit(step.state, "user.erase.succeeded", step.job.finished_at or "")
            return
        delay = 0
        if step.state.not_before is not None and step.job.phase == "user":
            delay = max(0, step.state.not_before - int(self.clock.now()))
        self.queue.send(self._message(step.state), delay_seconds=delay)

    def _message(self, state: JobState) -> dict[str, Any]:
        return {"job": ERASE_JOB, "envId": state.env_id, "jobId": state.job.id}

    def _audit(self, state: JobState, action: str, now_iso: str) -> None:
        self.audit.record(self._audit_event(state, action, now_iso))

    def _audit_event(self, state: JobState, action: str, now_iso: str) -> AuditEvent:
        """Who was erased, how, by which key, and the outcome so far."""
        j = state.job
        actor = Actor(id=state.key_id, email="secret key", role="admin")  # role is not stored
        details: dict[str, object] = {
            "mode": j.mode,
            "userId": j.user_id,
            "jobId": j.id,
            "keyId": state.key_id,
            "outcome": j.status,
        }
        return self.audit.new_event(
            actor,
            action,
            env_id=state.env_id,
            target_type="user",
            target_id=j.user_id,
            now_iso=now_iso,
            details=details,
        )

    # --- a step ------------------------------------------------------------------------------

    def _run(self, state: JobState) -> _Step:
        user_read = self.users.user_read(state.env_id, state.job.user_id)
        step = _Step(state, dict(state.cursor), STEP_ITEMS, fetch([user_read])[user_read])
        if state.job.status == "queued":
            self._save(step, status="running")
        while step.left > 0 and step.job.status == "running":
            phase = step.job.phase
            if phase == "tokens":
                self._tokens(step)
            elif phase == "rooms":
                self._rooms(step)
            elif phase == "user":
                if self._user(step):
                    break  # waiting for the user's last tokens to expire
            else:  # pragma: no cover - a phase this code does not know
                raise RuntimeError(f"unknown phase {phase}")
        if step.job.status == "running":
            self._save(step)
        return step

    def _write(self, step: _Step, **kwargs: Any) -> JobWrite:
        return JobWrite(cursor=dict(step.cursor), now_iso=iso(self.clock.now()), **kwargs)

    def _save(self, step: _Step, **kwargs: Any) -> None:
        step.state = self.store.save(step.state, self._write(step, **kwargs))

    def _tokens(self, step: _Step) -> None:
        """Every token minted for the user stops connecting (in the job's transaction, so a
        retry does not revoke again), then their open sockets are closed."""
        user_id = step.job.user_id
        wait = int(self.clock.now()) + self.settings.token_ttl_seconds + CLOCK_SKEW_SECONDS
        step.cursor = {"kind": "ROOM#"}
        w = self._write(step, phase="rooms", not_before=wait)
        done = self.store.revoke_tokens(step.state, w, user_id)
        step.state = done if done is not None else self.store.save(step.state, w)
        step.left -= 1
        doomed = self.connections.user_connections_in(step.env_id, user_id, self.clock.now())
        why = {
            "type": "error",
            "code": codes.TOKEN_REVOKED,
            "message": "Your session was revoked: this connection is closed.",
        }
        self.channel.hang_up(doomed, why)

    # --- rooms, threads, comments -----------------------------------------------------------

    def _rooms(self, step: _Step) -> None:
        c = step.cursor
        if c.get("room") is None:
            found = self.store.room_ids(step.env_id, c["kind"], c.get("after"), 1)
            step.left -= 1
            if not found:
                if c["kind"] == "ROOM#":
                    step.cursor = {"kind": "PURGE#"}
                else:
                    step.cursor = {"part": "own", "at": None, "which": 0}
                    self._save(step, phase="user")
                return
            c.update(room=found[0], thread=None, log=None, at=None, tomb=False, gen_read=False)
        if not c.get("gen_read"):
            c.update(gen=self.store.room_gen(step.env_id, c["room"]), gen_read=True)
            step.left -= 1
        if c.get("log"):
            self._log(step)
            return
        if c.get("thread") is None:
            threads = self.store.threads(step.env_id, c["room"], c.get("after_thread"), 1)
            step.left -= 1
            if not threads:
                c.update(log="SEQ#", at=None)
                return
            c.update(thread=threads[0].thread.id, part="COMMENT#", at=None, tomb=False)
        self._thread(step)

    def _thread_state(self, step: _Step) -> ThreadState | None:
        c = step.cursor
        step.left -= 1
        return self.store.thread(step.env_id, c["room"], c["thread"])

    def _visible(self, step: _Step, t: ThreadState) -> bool:
        return step.gen is not None and t.room_gen == step.gen

    def _thread(self, step: _Step) -> None:
        c = step.cursor
        thread_id = c["thread"]
        if c["part"] == "COMMENT#":
            page = self.store.comments(step.env_id, thread_id, c.get("at"), min(PAGE, step.left))
            step.left -= max(1, len(page))
            if not page:
                skip = step.job.mode == "anonymize"
                c.update(part="END" if skip else "REACT#", at=None)
                return
            for comment in page:
                self._comment(step, comment)
                c["at"] = "COMMENT#" + comment.id
        elif c["part"] == "REACT#":
            reacted = self.store.reactions(
                step.env_id, thread_id, c.get("at"), min(PAGE, step.left)
            )
            step.left -= max(1, len(reacted))
            if not reacted:
                c.update(part="END", at=None)
                return
            ids_ = sorted({r.comment_id for r in reacted})
            comments = self.store.comments_by_id(step.env_id, thread_id, ids_)
            step.left -= 1
            for r in reacted:
                self._reaction(step, thread_id, r, comments)
                c["at"] = r.sk
        else:
            self._thread_end(step)

    def _comment(self, step: _Step, comment: Comment) -> None:
        user_id = step.job.user_id
        if step.job.mode == "delete" and comment.user_id == user_id:
            self._delete_comment(step, comment, first=step.cursor.get("at") is None)
            return
        markup = f"<@{user_id}>"
        if markup not in comment.body and user_id not in comment.mentions:
            return
        body = comment.body.replace(markup, "@" + PLACEHOLDER)
        mentions = [m for m in comment.mentions if m != user_id]
        step.cursor["at"] = "COMMENT#" + comment.id
        w = self._write(step, done={"mentions_replaced": 1})
        done = self.store.rewrite_comment(step.state, w, comment, body, mentions)
        if done is None:  # edited meanwhile: read it again next step
            raise RuntimeError("a comment changed while its mentions were replaced")
        step.state = done

    def _delete_comment(self, step: _Step, comment: Comment, *, first: bool) -> None:
        """The thread's only comment: the thread goes; its first, with replies: a tombstone;
        any other: deleted. Files go first (deleting an object twice is harmless)."""
        c = step.cursor
        for attempt in range(3):
            t = self._thread_state(step)
            if t is None:
                return  # the thread went meanwhile, with its comments
            visible = self._visible(step, t)
            self._delete_files(step, comment)
            c["at"] = "COMMENT#" + comment.id
            files = len(comment.attachments)
            first = first and t.thread.created_by == step.job.user_id
            if t.thread.comment_count <= 1:
                w = self._write(
                    step, done={"threads_deleted": 1, "comments_deleted": 1, "files_deleted": files}
                )
                done = self.store.delete_thread(step.state, w, t, comment, visible)
                if done is not None:
                    step.state = done
                    self.on_thread_gone(step.env_id, t.thread.room_id, t.thread.id)
                    return
            elif first:
                c["tomb"] = True
                w = self._write(step, done={"comments_tombstoned": 1, "files_deleted": files})
                done = self.store.tombstone(step.state, w, t, comment, TOMBSTONE_AUTHOR, "")
                if done is not None:
                    step.state = done
                    return
            else:
                w = self._write(step, done={"comments_deleted": 1, "files_deleted": files})
                done = self.store.delete_comment(step.state, w, t, comment, visible)
                if done is not None:
                    step.state = done
                    return
            c["gen"] = self.store.room_gen(step.env_id, c["room"])
            log.info("erase: a thread changed under a delete", extra={"attempt": attempt})
        raise RuntimeError("a thread kept changing while the user's comment was deleted")

    def _delete_files(self, step: _Step, comment: Comment) -> None:
        if comment.attachments and self.files is not None:
            room_id = comment.room_id
            self.files.delete([file_key(step.env_id, room_id, a.id) for a in comment.attachments])

    def _reaction(
        self, step: _Step, thread_id: str, r: Reacted, comments: dict[str, Comment]
    ) -> None:
        """The user's reaction leaves its comment's summary; a reaction whose comment is gone
        (the user's, deleted above) goes too."""
        comment = comments.get(r.comment_id)
        mine = r.user_id == step.job.user_id
        if comment is not None and not mine:
            return
        step.cursor["at"] = r.sk
        summary = None
        if comment is not None:
            summary = reactions_text(_without(comment.reactions, r.emoji, r.user_id))
        done_key = "reactions_removed" if mine else "items_removed"
        w = self._write(step, done={done_key: 1})
        done = self.store.remove_reaction(step.state, w, thread_id, r, comment, summary)
        if done is None:
            raise RuntimeError("a comment's reactions changed while the user's was removed")
        step.state = done
        if comment is not None:
            comments[comment.id] = replace(
                comment, reactions=_without(comment.reactions, r.emoji, r.user_id)
            )

    def _thread_end(self, step: _Step) -> None:
        """The user's subscription goes (delete); a tombstone left alone in its thread takes the
        thread with it."""
        c = step.cursor
        thread_id = c["thread"]
        if step.job.mode == "delete":
            user_id = step.job.user_id
            step.left -= 1
            if self.store.subscriptions(step.env_id, [thread_id], user_id):
                key = self.store.subscription_key(step.env_id, thread_id, user_id)
                w = self._write(step, done={"items_removed": 1})
                step.state = self.store.delete_keys(step.state, w, [key])
            if c.get("tomb"):
                self._lone_tombstone(step)
        c.update(after_thread=thread_id, thread=None, part=None, at=None, tomb=False)

    def _lone_tombstone(self, step: _Step) -> None:
        t = self._thread_state(step)
        if t is None or t.thread.comment_count != 1:
            return
        (first,) = self.store.comments(step.env_id, t.thread.id, None, 1) or (None,)
        if first is None or first.user_id != TOMBSTONE_AUTHOR:
            return
        w = self._write(step, done={"threads_deleted": 1})
        done = self.store.delete_thread(step.state, w, t, first, self._visible(step, t))
        if done is None:
            raise RuntimeError("a thread changed while its tombstone was removed")
        step.state = done
        self.on_thread_gone(step.env_id, t.thread.room_id, t.thread.id)

    def _log(self, step: _Step) -> None:
        """The room's event log and socket acknowledgements that name the user go (a replay
        log of at most a day: a client catching up over them reloads what it shows)."""
        c = step.cursor
        part = c["log"]
        attribute = "data" if part == "SEQ#" else "frame"
        pk = self.store.log_partition(step.env_id, c["room"])
        page = self.store.texts_under(pk, part, c.get("at"), min(PAGE, step.left), attribute)
        step.left -= max(1, len(page))
        if not page:
            if part == "SEQ#":
                c.update(log="MUT#", at=None)
            else:
                c.update(after=c["room"], room=None, log=None, at=None)
                for done in ("gen", "gen_read", "after_thread"):
                    c.pop(done, None)
            return
        needles = self._needles(step)
        doomed = [(pk, sk) for sk, text in page if any(n in text for n in needles)]
        c["at"] = page[-1][0]
        if doomed:
            w = self._write(step, done={"items_removed": len(doomed)})
            step.state = self.store.delete_keys(step.state, w, doomed)

    def _needles(self, step: _Step) -> list[str]:
        """What names the user in stored JSON text: their mention markup, their name and avatar
        (and, for delete, their id)."""
        user_id = step.job.user_id
        found = [f"<@{user_id}>"]
        if step.job.mode == "delete":
            found.append(jsontext.dumps(user_id))
        name = step.user.name if step.user else None
        if name and name != PLACEHOLDER:
            found.append(jsontext.dumps(name))
        if step.user is not None and step.user.avatar:
            found.append(jsontext.dumps(step.user.avatar))
        return found

    # --- the user's own partitions and item -------------------------------------------------

    def _user(self, step: _Step) -> bool:
        """True when the step must wait (the user's last tokens are still alive)."""
        c = step.cursor
        user_id = step.job.user_id
        if step.job.mode == "delete" and c.get("part") == "own":
            partitions = self.store.own_partitions(step.env_id, user_id)
            if c["which"] >= len(partitions):
                c.update(part="item", at=None)
                return False
            pk = partitions[c["which"]]
            keys = self.store.keys_under(pk, "", c.get("at"), min(PAGE, step.left))
            step.left -= max(1, len(keys))
            if not keys:
                c.update(which=c["which"] + 1, at=None)
                return False
            c["at"] = keys[-1][1]
            w = self._write(step, done={"items_removed": len(keys)})
            step.state = self.store.delete_keys(step.state, w, keys)
            return False
        if step.job.mode == "delete":
            not_before = step.state.not_before or 0
            if int(self.clock.now()) < not_before:
                return True  # tokens minted before the revocation could still connect
        user = step.user
        w = self._write(step, phase="done", status="succeeded")
        if user is None:
            self._save(step, phase="done", status="succeeded")
            return False
        if step.job.mode == "delete":
            done = self.store.delete_user(step.state, w, user_id, user.name)
        elif user.name == PLACEHOLDER and not user.avatar:
            done = self.store.save(step.state, w)
        else:
            done = self.store.anonymize_user(step.state, w, user_id, user.name, PLACEHOLDER)
        if done is None:
            raise RuntimeError("the user changed while it was erased")
        step.state = done
        return False


def _without(reactions: tuple[Reaction, ...], emoji: str, user_id: str) -> tuple[Reaction, ...]:
    out = []
    for r in reactions:
        if r.emoji == emoji and user_id in r.user_ids:
            left = tuple(u for u in r.user_ids if u != user_id)
            if left:
                out.append(Reaction(r.emoji, r.count - 1, left))
        else:
            out.append(r)
    return tuple(out)
