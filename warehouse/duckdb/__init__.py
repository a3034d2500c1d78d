"""The DuckDB engine: ``teal.warehouse.engine``'s Protocols, implemented for DuckDB."""

from teal.warehouse.duckdb.engine import DuckDBEngine

__all__ = ["DuckDBEngine"]
