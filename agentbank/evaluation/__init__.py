"""Scoring agents against each person's own two-week test-retest consistency (Park et al. 2024, SM 5)."""
