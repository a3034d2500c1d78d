def model(dbt, session):
    # a dbt Python model: refs are DuckDB relations, session is the DuckDB connection
    dbt.config(materialized="table", tags=["python"], min_share=0.1)
    totals = dbt.ref("kind_totals")  # the latest version
    first = dbt.ref("kind_totals", v=1)
    all_events = totals.aggregate("sum(events) as n").fetchall()[0][0]
    shares = totals.project(f"kind, events, round(events / {all_events}, 4) as share")
    shares = shares.filter(f"share >= {dbt.config.get('min_share')}")
    joined = shares.join(first.project("kind, events as events_v1"), "kind")
    return joined.project(f"*, '{dbt.this.identifier}' as built_as, {dbt.is_incremental} as inc")
