"""The cost estimate's unit prices: per region, overridable by PULSE_PRICES, refused when
malformed; and the estimate's arithmetic on known quantities."""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.config import ConfigError
from chalicelib.services.metering import estimate
from chalicelib.services.pricing import US_EAST_1, prices_for


def test_a_listed_region_has_its_own_prices_and_another_is_priced_as_us_east_1() -> None:
    assert prices_for("eu-central-1").rest_request == pytest.approx(3.70e-6)
    other = prices_for("sa-east-1")
    assert other.region == "sa-east-1"
    assert other.dynamodb_write == US_EAST_1.dynamodb_write


def test_overrides_replace_only_what_they_name() -> None:
    prices = prices_for("us-east-1", '{"dynamodb_write": 0.000001, "s3_gb_month": 0}')
    assert prices.dynamodb_write == 0.000001 and prices.s3_gb_month == 0
    assert prices.rest_request == US_EAST_1.rest_request


@pytest.mark.parametrize(
    "raw", ["not json", "[1]", '{"lambda": 1}', '{"rest_request": -1}', '{"rest_request": "1"}']
)
def test_a_malformed_override_is_refused_by_name(raw: str) -> None:
    with pytest.raises(ConfigError, match="PULSE_PRICES"):
        prices_for("us-east-1", raw)


def test_the_estimate_of_known_quantities() -> None:
    used = Counter(
        messageUnitsIn=600_000,
        pushUnitsOut=400_000,  # 1M messages: $1.00
        connectionSeconds=60 * 2_000_000,  # 2M minutes: $0.50
        restRequests=1_000_000,  # $3.50
        invocations=5_000_000,  # $1.00
        lambdaMbMs=512 * 1000 * 100_000,  # 50,000 GB-s: $0.833335
        readUnitsMilli=8_000_000 * 1000,  # 8M RRU: $1.00
        writeUnitsMilli=2_000_000 * 1000,  # 2M WRU: $1.25
        attachmentBytes=10 * 2**30,  # 10 GB: $0.23
    )
    cost = estimate(used, US_EAST_1, days=30)
    assert [round(line.cost, 6) for line in cost.lines] == [
        1.0,
        0.5,
        3.5,
        1.0,
        0.833335,
        1.0,
        1.25,
        0.23,
    ]
    assert cost.total == pytest.approx(9.313335)
    assert cost.monthly == cost.total
