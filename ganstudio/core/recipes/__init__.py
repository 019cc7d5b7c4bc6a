"""Training recipes: a model plus the way it trains, registered by name."""
