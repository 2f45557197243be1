"""The batteries: order, validation, scoring, games, experiments, waves and the Prolific client."""
