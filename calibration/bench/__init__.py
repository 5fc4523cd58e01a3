"""Benchmarks and peer detectors for camdrift bench."""
