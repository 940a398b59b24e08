"""Demand forecasting: a LightGBM global model with quantiles, judged against seasonal naive."""
