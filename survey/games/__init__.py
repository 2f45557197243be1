"""The economic games: payoff rules and pairing (payoffs.py), the outcome job (outcomes.py)."""
