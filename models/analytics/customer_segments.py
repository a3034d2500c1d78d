"""A Python model downstream of a mart: customer segments computed with Polars."""

import polars as pl

import teal


@teal.asset(tags=["analytics"])
def customer_segments(customer_lifetime_value: pl.DataFrame) -> pl.DataFrame:
    """Segments customers by lifetime revenue quartile and recency."""
    clv = customer_lifetime_value
    cutoffs = clv.select(
        q75=pl.col("lifetime_revenue").quantile(0.75),
        q25=pl.col("lifetime_revenue").quantile(0.25),
        last_day=pl.col("last_order_date").max(),
    ).row(0, named=True)
    days_since = (pl.lit(cutoffs["last_day"]) - pl.col("last_order_date")).dt.total_days()
    segment = (
        pl.when(pl.col("lifetime_revenue") >= cutoffs["q75"]).then(pl.lit("champion"))
        .when(days_since > 120).then(pl.lit("at_risk"))
        .when(pl.col("lifetime_revenue") <= cutoffs["q25"]).then(pl.lit("occasional"))
        .otherwise(pl.lit("regular"))
    )
    return clv.select(
        "customer_id",
        "region",
        "lifetime_revenue",
        days_since_last_order=days_since,
        segment=segment,
    )
