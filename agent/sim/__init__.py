"""A simulated inspection line (real photographs, several scenes) for the demo, corpus, benchmarks and tests."""
