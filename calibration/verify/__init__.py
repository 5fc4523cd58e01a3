"""camdrift verify: a technician's pass/warn/fail against the baseline."""
