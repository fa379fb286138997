"""Benchmarks (``make bench``), kept out of the installed package; see bench/README.md."""
