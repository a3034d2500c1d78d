from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather

import teal


class Files(teal.IOManager):
    root: str

    def _path(self, context, key):
        return Path(self.root) / f"{context.asset_name}{'@' + key if key else ''}.arrow"

    def save(self, context, data: pa.Table) -> None:
        Path(self.root).mkdir(parents=True, exist_ok=True)
        for key in context.partition_keys or (None,):
            part = data if key is None else data.filter(pa.compute.equal(data["region"], key))
            feather.write_feather(part, self._path(context, key))

    def load(self, context) -> pa.Table:
        keys = context.partition_keys or (None,)
        return pa.concat_tables([feather.read_table(self._path(context, k)) for k in keys])
