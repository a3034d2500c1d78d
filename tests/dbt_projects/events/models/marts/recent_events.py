import pandas as pd


def model(dbt, session):
    dbt.config(materialized="table")
    frame = dbt.ref("events_enriched").df()
    frame = frame.sort_values("id")
    frame["label_length"] = frame["label"].str.len()
    return frame[frame["occurred_at"] >= pd.Timestamp("2024-02-01")][
        ["id", "label", "label_length"]
    ]
