"""AWS unit prices for the cost estimate (services/metering.py), per region, in USD: list
prices of the first tier, as published by AWS and recorded here on 2026-12-07. Operators on
other tiers, savings plans or regions not listed set PULSE_PRICES (JSON, any of the fields
below, e.g. {"dynamodb_write": 0.000000625}); a region not listed is priced as us-east-1."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import Any

from ..config import ConfigError


@dataclass(frozen=True)
class Prices:
    region: str
    websocket_message: float  # API Gateway WebSocket, per message (metered per 32 KB)
    websocket_minute: float  # API Gateway WebSocket, per connection minute
    rest_request: float  # API Gateway REST API, per request
    lambda_request: float  # Lambda, per invocation
    lambda_gb_second: float  # Lambda (x86), per GB-second
    dynamodb_read: float  # DynamoDB on-demand, per read request unit
    dynamodb_write: float  # DynamoDB on-demand, per write request unit
    s3_gb_month: float  # S3 Standard, per GB-month


M = 1_000_000
US_EAST_1 = Prices(
    region="us-east-1",
    websocket_message=1.00 / M,
    websocket_minute=0.25 / M,
    rest_request=3.50 / M,
    lambda_request=0.20 / M,
    lambda_gb_second=0.0000166667,
    dynamodb_read=0.125 / M,
    dynamodb_write=0.625 / M,
    s3_gb_month=0.023,
)
REGIONS: dict[str, Prices] = {
    "us-east-1": US_EAST_1,
    "us-east-2": replace(US_EAST_1, region="us-east-2"),
    "us-west-2": replace(US_EAST_1, region="us-west-2"),
    "eu-west-1": replace(
        US_EAST_1,
        region="eu-west-1",
        websocket_message=1.14 / M,
        websocket_minute=0.285 / M,
        dynamodb_read=0.1415 / M,
        dynamodb_write=0.7075 / M,
    ),
    "eu-central-1": replace(
        US_EAST_1,
        region="eu-central-1",
        websocket_message=1.14 / M,
        websocket_minute=0.285 / M,
        rest_request=3.70 / M,
        dynamodb_read=0.1525 / M,
        dynamodb_write=0.7625 / M,
        s3_gb_month=0.0245,
    ),
    "ap-southeast-1": replace(
        US_EAST_1,
        region="ap-southeast-1",
        websocket_message=1.15 / M,
        websocket_minute=0.288 / M,
        rest_request=3.50 / M,
        dynamodb_read=0.1425 / M,
        dynamodb_write=0.7125 / M,
        s3_gb_month=0.025,
    ),
}
PRICE_FIELDS = frozenset(f.name for f in fields(Prices)) - {"region"}


def prices_for(region: str, overrides: str | None = None) -> Prices:
    """The region's prices (us-east-1's for a region not listed), with `overrides` applied."""
    prices = replace(REGIONS.get(region, US_EAST_1), region=region)
    if not overrides:
        return prices
    try:
        given = json.loads(overrides)
    except ValueError as exc:
        raise ConfigError("PULSE_PRICES must be a JSON object") from exc
    if not isinstance(given, dict) or not set(given) <= PRICE_FIELDS:
        raise ConfigError(f"PULSE_PRICES may set only {', '.join(sorted(PRICE_FIELDS))}")
    if not all(isinstance(v, int | float) and v >= 0 for v in given.values()):
        raise ConfigError("PULSE_PRICES' prices must be numbers >= 0")
    changes: dict[str, Any] = {k: float(v) for k, v in given.items()}
    return replace(prices, **changes)
