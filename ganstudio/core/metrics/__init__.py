"""Measures of a run's progress taken while it trains (the quality score is one), each registered by name."""
