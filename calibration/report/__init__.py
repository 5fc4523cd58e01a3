"""camdrift report: PNG/HTML pictures of a baseline and a capture."""
