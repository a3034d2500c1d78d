"""The Spark engine (a second implementation of teal.warehouse.engine's interface)."""

from teal.warehouse.spark.engine import SparkEngine

__all__ = ["SparkEngine"]
