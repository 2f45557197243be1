"""Scoring of the batteries: one module per instrument family."""
