"""The agent bank: genagents export and evaluation against test-retest consistency."""
