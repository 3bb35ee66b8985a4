"""The per-container object graph: settings, clock and services, built on first use (never at
import, so `chalice package` and test collection touch no environment or AWS)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import meter
from .clock import Clock
from .config import Settings, get_settings, reset_settings
from .services.attachments import AttachmentService
from .services.authority import Authority
from .services.channel import RoomChannel, Sender
from .services.collab import CollabService
from .services.environments import EnvironmentService
from .services.erasure import ErasureService
from .services.export import ExportService
from .services.idempotency import IdempotencyService
from .services.inbox import InboxService
from .services.keyauth import KeyCheck
from .services.limits import Limits
from .services.login_throttle import LoginThrottle
from .services.metering import Metering
from .services.operators import OperatorService
from .services.ports import DeliveryQueue, FileStore, WebhookPoster
from .services.realtime import RealtimeService
from .services.retention import RetentionService
from .services.tokens import TokenService
from .services.usage import UsageService
from .services.webhook_delivery import WebhookPipeline
from .services.webhooks import WebhookService


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    environments: EnvironmentService
    operators: OperatorService
    tokens: TokenService
    collab: CollabService
    realtime: RealtimeService
    limits: Limits
    idempotency: IdempotencyService
    webhooks: WebhookService
    pipeline: WebhookPipeline
    inbox: InboxService
    usage: UsageService
    erasure: ErasureService
    export: ExportService
    retention: RetentionService
    metering: Metering


_services: Services | None = None


def build(
    settings: Settings,
    clock: Clock | None = None,
    sender: Sender | None = None,
    *,
    queue: DeliveryQueue | None = None,
    poster: WebhookPoster | None = None,
    files_store: FileStore | None = None,
) -> Services:
    """The graph: every store and service built once, each service given what it uses. `sender`
    replaces the Management API client (tests hand in a fake that records frames); `queue` and
    `poster` the webhook queue (SQS) and HTTP client."""
    from .db import dynamo
    from .outbound.files import S3Files
    from .outbound.http import Poster
    from .outbound.queue import NoQueue, SqsQueue
    from .repositories import (
        attachments,
        audit,
        connections,
        environments,
        erasure,
        events,
        idempotency,
        inbox,
        login_throttles,
        operators,
        ratelimits,
        rooms,
        stats,
        usage_days,
        user_connections,
        users,
        webhooks,
    )
    from .sockets.sender import ManagementApi

    dynamo.bind(settings)
    clock = clock or Clock()
    sender = sender or ManagementApi(settings.ws_management_scheme, settings.region)
    keys = KeyCheck(settings, environments, clock)
    authority = Authority(settings, clock, keys, environments)
    metering = Metering(settings, clock, authority, usage=usage_days, stats=stats)
    channel = RoomChannel(
        sender,
        clock,
        connections,
        on_removed=metering.disconnected,
        settle_seconds=settings.connect_settle_seconds,
    )
    tokens = TokenService(settings, clock, keys, users=users, environments=environments)
    limits = Limits(settings, clock, ratelimits)
    throttle = LoginThrottle(settings, clock, login_throttles)
    if queue is None:
        url, name = settings.webhook_queue_url, settings.webhook_queue_name
        queue = (
            SqsQueue(
                settings.region, queue_url=url, queue_name=name, endpoint=settings.sqs_endpoint
            )
            if url or name
            else NoQueue()
        )
    poster = poster or Poster(
        timeout=settings.webhook_timeout_seconds, allow_local=settings.webhook_allow_local
    )
    pipeline = WebhookPipeline(
        settings, clock, webhooks=webhooks, audit=audit, queue=queue, poster=poster
    )
    bucket = settings.attachments_bucket
    files = files_store
    if files is None and bucket:
        files = S3Files(bucket, settings.region, endpoint=settings.s3_endpoint)
    attachment_service = AttachmentService(settings, clock, attachments=attachments, files=files)
    environment_service = EnvironmentService(
        settings,
        clock,
        environments=environments,
        audit=audit,
        on_keys_dead=channel.kick,
        queue=queue,
    )
    inbox_service = InboxService(
        settings,
        clock,
        authority,
        channel,
        pipeline,
        inbox=inbox,
        rooms=rooms,
        users=users,
        environments=environments,
        connections=connections,
        user_connections=user_connections,
        history=events,
    )
    collab = CollabService(
        settings,
        clock,
        authority,
        channel,
        rooms=rooms,
        users=users,
        stats=stats,
        history=events,
        attachments=attachment_service,
    )
    return Services(
        settings=settings,
        clock=clock,
        environments=environment_service,
        operators=OperatorService(settings, clock, throttle, operators=operators, audit=audit),
        tokens=tokens,
        collab=collab,
        realtime=RealtimeService(
            settings,
            clock,
            authority,
            tokens,
            channel,
            limits,
            connections=connections,
            rooms=rooms,
            user_connections=user_connections,
            on_connected=metering.connected,
        ),
        limits=limits,
        idempotency=IdempotencyService(settings, clock, keys, idempotency),
        webhooks=WebhookService(
            settings, clock, environment_service, pipeline, webhooks=webhooks, audit=audit
        ),
        pipeline=pipeline,
        inbox=inbox_service,
        usage=UsageService(clock, ratelimits),
        erasure=ErasureService(
            settings,
            clock,
            authority,
            channel,
            store=erasure,
            users=users,
            connections=connections,
            audit=audit,
            queue=queue,
            files=files,
            on_thread_gone=inbox_service.on_thread_gone,
        ),
        retention=RetentionService(
            settings,
            clock,
            collab,
            attachment_service,
            environments=environments,
            rooms=rooms,
            walk=erasure,
        ),
        export=ExportService(settings, clock, authority, store=erasure, users=users, files=files),
        metering=metering,
    )


def services() -> Services:
    global _services
    if _services is None:
        _services = build(get_settings())
    return _services


def install(value: Services | None) -> None:
    """Replace the graph (tests inject a FrozenClock; None rebuilds from the environment)."""
    global _services
    reset_settings()
    _services = value


@contextmanager
def metered() -> Iterator[None]:
    """Run an invocation with a fresh usage meter, and write what it counted when it ends
    (services/metering.py): never raising, and building nothing when nothing was counted (a
    static file's request never builds the graph for it)."""
    running, token = meter.begin()
    try:
        yield
    finally:
        meter.end(token)
        if not running.idle():
            try:
                services().metering.flush(running)
            except Exception:
                logging.getLogger("pulse.metering").exception("usage not counted")
