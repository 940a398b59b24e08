"""Recommendation models: baselines, a sequential retrieval model, evaluation, tracking."""
