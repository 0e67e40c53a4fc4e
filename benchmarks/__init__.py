"""Benchmarks, each runnable as ``python -m benchmarks.NAME``; they print a table and write JSON."""
