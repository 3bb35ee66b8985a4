"""AWS unit prices for the cost estimate (services/metering.py), per region, in USD: AWS's
published first-tier on-demand list prices as known when this was written (from memory of the
public price pages: the machine that wrote them could not reach them; check them before relying
on a figure). Operators on other tiers, savings plans, ARM functions or regions not listed set
PULSE_PRICES (JSON, any of the fields below, e.g. {"dynamodb_write": 0.000000625}); a region not
listed is priced as us-east-1."""

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


def per_million(dollars: float) -> float:
    """A price per unit from a price per million units (rounded: 0.20 / 1e6 is not exact)."""
    return round(dollars / 1_000_000, 15)


US_EAST_1 = Prices(
    region="us-east-1",
    websocket_message=per_million(1.00),
    websocket_minute=per_million(0.25),
    rest_request=per_million(3.50),
    lambda_request=per_million(0.20),
    lambda_gb_second=0.0000166667,
    dynamodb_read=per_million(0.125),
    dynamodb_write=per_million(0.625),
    s3_gb_month=0.023,
)
REGIONS: dict[str, Prices] = {
    "us-east-1": US_EAST_1,
    "us-east-2": replace(US_EAST_1, region="us-east-2"),
    "us-west-2": replace(US_EAST_1, region="us-west-2"),
    "eu-west-1": replace(
        US_EAST_1,
        region="eu-west-1",
        websocket_message=per_million(1.14),
        websocket_minute=per_million(0.285),
        dynamodb_read=per_million(0.1415),
        dynamodb_write=per_million(0.7075),
    ),
    "eu-central-1": replace(
        US_EAST_1,
        region="eu-central-1",
        websocket_message=per_million(1.14),
        websocket_minute=per_million(0.285),
        rest_request=per_million(3.70),
        dynamodb_read=per_million(0.1525),
        dynamodb_write=per_million(0.7625),
        s3_gb_month=0.0245,
    ),
    "ap-southeast-1": replace(
        US_EAST_1,
        region="ap-southeast-1",
        websocket_message=per_million(1.15),
        websocket_minute=per_million(0.288),
        rest_request=per_million(3.50),
        dynamodb_read=per_million(0.1425),
        dynamodb_write=per_million(0.7125),
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
