"""Storefront simulator: a shop with known ground truth."""
