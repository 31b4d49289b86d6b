"""Benchmarks: each prints a JSON summary with the machine it ran on."""
