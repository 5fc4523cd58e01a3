"""``camdrift bench``: speed and detection figures measured side by side in one run."""
