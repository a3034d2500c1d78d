import pyarrow as pa

import teal


@teal.asset(io_manager="files", partitioned_by={"static": ["eu", "us"]}, partition_column="region")
def by_region(context) -> pa.Table:
    return pa.table({"region": [context.partition_key], "n": [1]})


@teal.asset
def region_count(by_region: pa.Table) -> pa.Table:
    return pa.table({"regions": [by_region.num_rows]})
