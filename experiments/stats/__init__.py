"""A/B statistics: lifts with intervals, ratio metrics, CUPED, sample-ratio mismatch,
always-valid sequential tests, Bayesian chance-to-beat and sample sizes.

Every function works on NumPy arrays along the last axis, so a thousand simulated
experiments are one call (the validity benchmark relies on it).
"""
