"""camdrift.calibration: technician tools (baselines, thresholds, verify, reports, annotation agreement)."""
