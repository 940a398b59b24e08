"""The algorithm audit: price parity, lawful reference prices, exposure fairness of
recommendations and privacy of the service's logs (``storefront audit``, ``/audit``).

Every check reads what the service recorded (its quote log, the experiment store's
exposures and outcomes, its log files) beside the shop's feeds, and returns a frame or
a small dataclass; nothing here imports ``serving`` or ``cli``.
"""
