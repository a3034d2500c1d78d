"""A Python model downstream of a mart: customer segments computed with Polars."""

import polars as pl

import teal


class Segmenting(teal.Config):
    """Run config: `--config-json '{"customer_segments": {"at_risk_days": 90}}'`."""

    at_risk_days: int = 120  # no order for longer than this: at risk


@teal.asset(tags=["analytics"])
def customer_segments(customer_lifetime_value: pl.DataFrame, config: Segmenting) -> pl.DataFrame:
    """Segments customers by lifetime revenue quartile and recency."""
    clv = customer_lifetime_value
    cutoffs = clv.select(
        q75=pl.col("lifetime_revenue").quantile(0.75),
        q25=pl.col("lifetime_revenue").quantile(0.25),
        last_day=pl.col("last_order_date").max(),
    ).row(0, named=True)
    days_since = (pl.lit(cutoffs["last_day"]) - pl.col("last_order_date")).dt.total_days()
    segment = (
        pl.when(pl.col("lifetime_revenue") >= cutoffs["q75"])
        .then(pl.lit("champion"))
        .when(days_since > config.at_risk_days)
        .then(pl.lit("at_risk"))
        .when(pl.col("lifetime_revenue") <= cutoffs["q25"])
        .then(pl.lit("occasional"))
        .otherwise(pl.lit("regular"))
    )
    return clv.select(
        "customer_id",
        "region",
        "lifetime_revenue",
        days_since_last_order=days_since,
        segment=segment,
    )


@teal.asset_check(asset="customer_segments")
def segments_are_plausible(customer_segments: pl.DataFrame) -> teal.CheckResult:
    """A Python check: every customer has a segment, and champions are about a quarter."""
    champions = customer_segments.filter(pl.col("segment") == "champion").height
    share = champions / max(customer_segments.height, 1)
    unsegmented = customer_segments["segment"].null_count()
    return teal.CheckResult(
        passed=unsegmented == 0 and 0.15 < share < 0.35,
        metadata={"champion_share": round(share, 3), "unsegmented": unsegmented},
    )
