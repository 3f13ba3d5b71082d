"""Cairn's benchmarks: each figure a ratio against a baseline doing the same work in the same run.

``python -m bench`` (or ``make bench``) runs them all and writes
``bench/results/latest.md`` and ``latest.json``; ``--quick`` runs a tiny
configuration in seconds (tests/test_bench.py).  bench/README.md tells what
each row measures and how.
"""
