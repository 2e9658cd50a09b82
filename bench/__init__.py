"""Lookout's benchmarks: speed, upstream economy and memory, run with ``python -m bench``."""
