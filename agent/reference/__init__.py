"""References the agent tests against: the baseline and its activation reference."""
