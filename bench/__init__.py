"""Benchmarks, run as ``python -m bench.NAME``; each ends with one line of JSON."""
