"""The scheduled retention run (hourly; docs/privacy.md): in each environment with a
`retentionDays`, resolved threads last changed more than that many days ago are deleted, as a
thread DELETE does (counters, event, sockets, inbox, files); and in every environment, what a
purge that died left behind is removed: the threads of a deleted room (`PURGE#`) and the comments
of a deleted thread (`TPURGE#`), both invisible until then.

A run deletes at most MAX_THREADS threads and stops; the next run goes on (what it deleted is
gone, so it starts over without repeating anything)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..clock import Clock, iso
from ..config import Settings
from ..entities import Actor
from ..errors import Conflict, NotFound
from ..repositories.reads import fetch
from .attachments import AttachmentService
from .callers import OperatorCaller
from .collab import CollabService
from .ports import EnvironmentStore, ErasureStore, RoomStore

log = logging.getLogger("pulse.retention")

SYSTEM = Actor(id="system", email="retention", role="owner")  # who the deletes are made by
MAX_THREADS = 500  # threads one run deletes at most
PAGE = 100
DAY_SECONDS = 86400


@dataclass
class Report:
    environments: int = 0
    threads_deleted: int = 0
    rooms_purged: int = 0
    threads_purged: int = 0
    complete: bool = True  # False: the run stopped at its bound; the next one goes on
    per_environment: dict[str, int] = field(default_factory=dict)


class RetentionService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        collab: CollabService,
        attachments: AttachmentService,
        *,
        environments: EnvironmentStore,
        rooms: RoomStore,
        walk: ErasureStore,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.collab = collab
        self.attachments = attachments
        self.environments = environments
        self.rooms = rooms
        self.walk = walk

    def run(self, max_threads: int = MAX_THREADS) -> Report:
        report = Report()
        cursor: str | None = None
        while True:
            page = self.environments.list_environments(
                None, limit=PAGE, cursor=cursor, secret=self.settings.signing_secret
            )
            for environment in page.data:
                report.environments += 1
                self._purges(environment.id, report)
                if environment.retention_days and environment.status == "active":
                    left = max_threads - report.threads_deleted
                    if left <= 0:
                        report.complete = False
                        continue
                    self._expire(environment.id, environment.retention_days, left, report)
            cursor = page.next_cursor
            if cursor is None:
                return report

    def _purges(self, env_id: str, report: Report) -> None:
        """Finish what dead purges left (each is idempotent; one that fails again stays)."""
        rooms, threads = self.rooms.pending_purges(env_id)
        for room_id, gens in rooms:
            if self.rooms.purge_room(env_id, room_id, gens):
                report.rooms_purged += 1
        for room_id, thread_id in threads:
            files = self.rooms.finish_thread_purge(env_id, thread_id)
            self.attachments.delete_files(env_id, room_id, files)
            report.threads_purged += 1

    def _expire(self, env_id: str, days: int, left: int, report: Report) -> None:
        cutoff = iso(self.clock.now() - days * DAY_SECONDS)
        caller = OperatorCaller(SYSTEM, env_id)
        after_room: str | None = None
        deleted = 0
        while True:
            room_ids = self.walk.room_ids(env_id, "ROOM#", after_room, PAGE)
            for room_id in room_ids:
                read = self.rooms.room_read(env_id, room_id)
                state = fetch([read])[read]
                if state is None:
                    continue
                after: str | None = None
                while True:
                    ids_, after = self.rooms.expired_threads(
                        env_id, state, cutoff, after, min(PAGE, left - deleted)
                    )
                    for thread_id in ids_:
                        try:
                            self.collab.delete_thread(caller, room_id, thread_id)
                            deleted += 1
                        except (NotFound, Conflict):  # gone or busy: the next run sees it
                            log.info("retention skipped a thread", extra={"threadId": thread_id})
                    if deleted >= left:
                        report.complete = False
                        break
                    if after is None:
                        break
                if deleted >= left:
                    break
            if deleted >= left or len(room_ids) < PAGE:
                break
            after_room = room_ids[-1]
        report.threads_deleted += deleted
        report.per_environment[env_id] = deleted
