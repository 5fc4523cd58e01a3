"""camdrift calibrate: capture, quality gates, thresholds, baseline build."""
