"""The shop's KPIs: GMV, orders, conversion, average order value, repurchase rate, return
rate and gross margin, by day or week with the previous period beside them, broken down
by category and RFM segment, and the three views a shop's plans ask for (shopper
behaviour, product performance, marketing effect).

Everything is computed from Polars frames: the feeds and the service's event log,
combined (:mod:`kpi.sources`). Each module holds one part, and each figure's formula is
in the docstring of the function that computes it:

- :mod:`kpi.periods`: date ranges, the previous period, day / week buckets;
- :mod:`kpi.sources`: reading and combining the events, data freshness;
- :mod:`kpi.figures`: the headline figures of any grouping of events;
- :mod:`kpi.series`: the figures by day or week, the previous period beside;
- :mod:`kpi.breakdowns`: by category and by RFM segment, against the previous period;
- :mod:`kpi.shoppers`: funnel, lifecycle stages, the win-back list, new vs returning;
- :mod:`kpi.products`: top and bottom items, stock-outs, overstock, margin;
- :mod:`kpi.marketing`: promotion response by price-sensitivity tier, experiments;
- :mod:`kpi.report`: all of it as one :class:`~kpi.report.KpiReport`;
- :mod:`kpi.formats` and :mod:`kpi.charts`: figures as text and the dashboard's Plotly
  charts of a report.
"""

from kpi.periods import Period, default_period
from kpi.report import KpiReport, KpiSettings, build_report
from kpi.sources import Freshness, ShopData, load_shop

__all__ = [
    "Freshness",
    "KpiReport",
    "KpiSettings",
    "Period",
    "ShopData",
    "build_report",
    "default_period",
    "load_shop",
]
