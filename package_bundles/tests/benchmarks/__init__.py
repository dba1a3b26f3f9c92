"""Benchmarks run by hand on a bench site; they leave nothing behind."""
