"""A/B experiments: definitions, assignment, exposure and outcome logs, statistics, reports.

What the service calls:

- :class:`experiments.assignment.Assigner` (``assign(surface, at, shopper_id=...,
  session_id=..., item_id=...)``) on every request;
- :meth:`experiments.store.ExperimentStore.log_exposures` and ``log_outcomes`` with
  :class:`experiments.records.Exposure` / :class:`experiments.records.Outcome` batches;
- :func:`experiments.report.build_report` and ``write_report`` for the pricing team's page.
"""
