"""Replenishment alerts: reorder points from the demand forecast and its quantiles."""
