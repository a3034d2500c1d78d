"""Raw shop data, generated deterministically (the same rows on every machine).

These Python assets stand in for an extract-load tool. Each returns a Polars frame that
teal writes into the warehouse through Arrow. Sizes follow the `order_count` var.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

import teal

START = pl.datetime(2025, 1, 1)
DAYS = 365
CITIES = ["Berlin", "Paris", "Madrid", "Rome", "Vienna", "Lisbon", "Prague", "Oslo"]
COUNTRIES = ["DE", "FR", "ES", "IT", "AT", "PT", "CZ", "NO"]
CATEGORIES = ["books", "games", "garden", "kitchen", "music", "outdoor", "sports", "toys"]
METHODS = ["card", "card", "card", "paypal", "paypal", "bank_transfer", "gift_card"]
PAGES = ["/", "/search", "/product", "/product", "/product", "/cart", "/checkout", "/account"]


def _rand(col: str, salt: int, modulo: int) -> pl.Expr:
    """A deterministic pseudo-random integer in [0, modulo) from an integer column."""
    mixed = (pl.col(col) * 2654435761 + salt * 97531) % 4294967291
    mixed = (mixed * 48271 + salt) % 2147483647
    return (mixed % modulo).cast(pl.Int64)


def _pick(options: list[str], col: str, salt: int) -> pl.Expr:
    return pl.lit(pl.Series(options)).get(_rand(col, salt, len(options)))


def _counts(context: teal.AssetContext) -> tuple[int, int, int]:
    orders = int(context.vars.get("order_count", 100_000))
    return orders, max(orders // 10, 10), 500


@teal.asset
def customers(context: teal.AssetContext) -> pl.DataFrame:
    """One row per registered customer."""
    _, n_customers, _ = _counts(context)
    frame = pl.DataFrame({"customer_id": pl.int_range(1, n_customers + 1, eager=True)})
    return frame.with_columns(
        first_name=pl.format("Customer{}", pl.col("customer_id")),
        # realistic dirt: about 1 in 200 sign-ups typed their address without the "@"
        email=pl.when(_rand("customer_id", 15, 200) == 0)
        .then(pl.format("customer{}.example.com", pl.col("customer_id")))
        .otherwise(pl.format("customer{}@example.com", pl.col("customer_id"))),
        city=_pick(CITIES, "customer_id", 1),
        country_code=_pick(COUNTRIES, "customer_id", 1),
        signed_up_at=START + pl.duration(hours=_rand("customer_id", 2, DAYS * 24)),
    )


@teal.asset
def products() -> pl.DataFrame:
    """The catalogue: 500 products in 8 categories."""
    frame = pl.DataFrame({"product_id": pl.int_range(1, 501, eager=True)})
    return frame.with_columns(
        product_name=pl.format("Product {}", pl.col("product_id")),
        category=_pick(CATEGORIES, "product_id", 3),
        unit_price=_money(_price_cents()),
        unit_cost=_money((_price_cents() * 6 + 5) // 10),  # 60 % of the price, to the cent
    )


def _price_cents() -> pl.Expr:
    return _rand("product_id", 4, 19_000) + 500


def _money(cents: pl.Expr) -> pl.Expr:
    """Whole cents as DECIMAL(10, 2): money is exact, so sums and ranks are the same on
    every build (a DOUBLE summed in parallel rounds differently from run to run)."""
    return (cents.cast(pl.Decimal(12, 2)) / 100).cast(pl.Decimal(10, 2))


# Orders, payments and web events arrive day by day: they are daily-partitioned assets over
# 2025 (365 partitions). `teal build` builds the missing days; `teal build -s orders
# --partition 2025-03-01` regenerates one day; `teal backfill orders --from .. --to ..` a
# range. backfill_policy='single_run' lets one call build many days at once (Dagster's
# BackfillPolicy.single_run): the context's partition_window then spans all of them.
DAILY_2025 = {"daily": {"start": "2025-01-01", "end": "2026-01-01"}}


def _days(context: teal.AssetContext) -> range:
    start, end = context.partition_window
    first = (start - datetime(2025, 1, 1)).days
    return range(first, first + (end - start).days)


@teal.asset(
    partitioned_by=DAILY_2025,
    partition_column="ordered_at",
    deps=["customers"],
    backfill_policy="single_run",
)
def orders(context: teal.AssetContext) -> pl.DataFrame:
    """Each day's share of the year's orders; a few are cancelled or returned."""
    n_orders, n_customers, _ = _counts(context)
    days = _days(context)
    frame = pl.DataFrame({"day": pl.int_range(days.start, days.stop, eager=True)})
    frame = (
        frame.with_columns(
            n=pl.int_ranges(
                n_orders * pl.col("day") // DAYS, n_orders * (pl.col("day") + 1) // DAYS
            )
        )
        .explode("n")
        .drop_nulls("n")
    )
    frame = frame.with_columns(order_id=pl.col("n") + 1)
    status = (
        pl.when(_rand("order_id", 5, 100) < 3)
        .then(pl.lit("cancelled"))
        .when(_rand("order_id", 5, 100) < 7)
        .then(pl.lit("returned"))
        .otherwise(pl.lit("completed"))
    )
    return frame.select(
        "order_id",
        customer_id=_rand("order_id", 6, n_customers) + 1,
        ordered_at=START + pl.duration(days=pl.col("day"), seconds=_rand("order_id", 7, 86_400)),
        status=status,
    )


@teal.asset
def order_items(orders: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """One to four lines per order."""
    lines = orders.select("order_id").with_columns(n_lines=_rand("order_id", 8, 4) + 1)
    lines = lines.with_columns(line_number=pl.int_ranges(1, pl.col("n_lines") + 1)).explode(
        "line_number"
    )
    lines = lines.with_columns(key=pl.col("order_id") * 10 + pl.col("line_number"))
    return lines.select(
        order_item_id=pl.col("key"),
        order_id=pl.col("order_id"),
        product_id=_rand("key", 9, products.height) + 1,
        quantity=_rand("key", 10, 3) + 1,
    )


@teal.asset(
    partitioned_by=DAILY_2025,
    partition_column="paid_at",
    partition_mapping={"orders": "lookback(2)"},
    backfill_policy="single_run",
)
def payments(context: teal.AssetContext, orders: pl.LazyFrame) -> pl.LazyFrame:
    """One payment per order that was not cancelled, up to 90 minutes after it: a day's
    payments come from that day's and the previous day's orders (a lookback of 2)."""
    start, end = context.partition_window
    return (
        orders.filter(pl.col("status") != "cancelled")
        .select(
            payment_id=pl.col("order_id") + 1_000_000,
            order_id=pl.col("order_id"),
            method=_pick(METHODS, "order_id", 11),
            paid_at=pl.col("ordered_at") + pl.duration(minutes=_rand("order_id", 12, 90)),
        )
        .filter((pl.col("paid_at") >= start) & (pl.col("paid_at") < end))
    )


@teal.asset(partitioned_by=DAILY_2025, partition_column="occurred_at", backfill_policy="single_run")
def web_events(orders: pl.DataFrame) -> pl.DataFrame:
    """Page views: three per order, from the buyer, earlier the same day."""
    frame = (
        orders.select("order_id", "customer_id", "ordered_at")
        .with_columns(step=pl.int_ranges(0, 3))
        .explode("step")
    )
    frame = frame.with_columns(key=pl.col("order_id") * 3 + pl.col("step"))
    before = pl.col("ordered_at") - pl.duration(minutes=_rand("key", 14, 240) + 1)
    return frame.select(
        event_id=pl.col("key"),
        customer_id=pl.col("customer_id"),
        page=_pick(PAGES, "key", 13),
        occurred_at=pl.max_horizontal(before, pl.col("ordered_at").dt.truncate("1d")),
    )
