"""Pulse: the Chalice application. Wiring only; everything else lives in chalicelib/."""

from typing import Any

from chalice.app import Chalice, CloudWatchEvent, DynamoDBEvent, Rate, SQSEvent, WebsocketEvent

from chalicelib import webhook_handlers
from chalicelib.api import (
    admin_data,
    admin_environments,
    admin_openapi,
    admin_operators,
    admin_panel,
    admin_webhooks,
    auth_tokens,
    sdk,
    v1_inbox,
    v1_openapi,
    v1_privacy,
    v1_rooms,
)
from chalicelib.api.middleware import http_middleware
from chalicelib.config import event_sources
from chalicelib.logs import configure_logging
from chalicelib.realtime import handlers as ws

app = Chalice(app_name="pulse")
configure_logging()  # after Chalice(): it configures the "pulse" logger (its app_name) too
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.register_middleware(http_middleware, "http")

for router in (
    admin_operators.router,
    admin_environments.router,
    admin_data.router,
    admin_webhooks.router,
    auth_tokens.router,
    v1_rooms.router,
    v1_inbox.router,
    v1_privacy.router,
    v1_openapi.router,
    admin_openapi.router,
    admin_panel.router,
    sdk.router,
):
    app.register_blueprint(router.sealed(), url_prefix=router.prefix)


# WebSocket routes: kept here (blueprint-declared ones have had deploy bugs); logic in chalicelib.
@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict[str, Any]:
    return ws.connect(event.to_dict())


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> dict[str, Any]:
    return ws.message(event.to_dict())


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> dict[str, Any]:
    return ws.disconnect(event.to_dict())


# The webhook pipeline (docs/webhooks.md): declared when the deploy tooling names its sources.
_sources = event_sources()
if _sources is not None:
    _stream_arn, _queue_arn = _sources

    @app.on_dynamodb_record(stream_arn=_stream_arn, batch_size=100, name="webhook_events")
    def webhook_events(event: DynamoDBEvent) -> None:
        webhook_handlers.stream(event.to_dict())

    @app.on_sqs_message(queue_arn=_queue_arn, batch_size=1, name="webhook_attempts")
    def webhook_attempts(event: SQSEvent) -> None:
        webhook_handlers.attempts(event.to_dict())


# Retention and the cleanup of dead purges (docs/privacy.md): hourly, on EventBridge.
@app.schedule(Rate(1, unit=Rate.HOURS), name="retention")
def retention(event: CloudWatchEvent) -> None:
    webhook_handlers.retention(event.to_dict())
