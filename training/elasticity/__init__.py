"""Price elasticity: double machine learning against confounded historical prices."""
