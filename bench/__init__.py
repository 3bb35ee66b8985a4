"""Benchmarks (issue 6); results and how to run them in docs/performance.md."""
