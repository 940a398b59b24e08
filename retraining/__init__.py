"""The learning loop: fold the service's events into the feeds, rebuild the features,
retrain each model family, gate and promote, reload the service; on a schedule."""
