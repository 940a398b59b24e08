"""Price proposals: an optimiser over a price grid under the pricing team's guardrails."""
