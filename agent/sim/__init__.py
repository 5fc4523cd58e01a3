"""A simulated inspection line (real photographs) for the demo, benchmarks and tests."""
