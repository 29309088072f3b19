"""Benchmarks: `python -m bench NAME [--repeat N]` runs bench/bench_NAME.py through bench.harness."""
