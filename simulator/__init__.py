"""Storefront simulator: a shop with known ground truth (tastes, elasticities, stock)."""

from simulator.config import SimulationConfig
from simulator.engine import Simulation, simulate
from simulator.truth import TRUTH_FILE, GroundTruth

__all__ = ["TRUTH_FILE", "GroundTruth", "Simulation", "SimulationConfig", "simulate"]
