"""Drift maths: features, windows, statistics, decisions, explanations, trends, the engine."""
