"""camdrift.agent: the online side (sources, frame tap, feature extraction, drift engine, sinks, daemon)."""
