import pyarrow as pa

import teal


@teal.asset
def customer_count(stg_customers: pa.Table) -> pa.Table:
    return pa.table({"customers": [stg_customers.num_rows]})
