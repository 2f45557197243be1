"""Language understanding the interviewer runs on the CPU without the LLM: sentence embeddings and
what is built on them (the safety classifier, follow-up ranking)."""
