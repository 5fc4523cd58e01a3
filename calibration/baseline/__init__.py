"""camdrift baseline: show, diff and merge baselines."""
