import pyarrow as pa

import teal


@teal.asset(io_manager="files")
def stored() -> pa.Table:
    return pa.table({"x": [1, 2]})


@teal.asset
def reader(stored: pa.Table) -> pa.Table:
    return stored
