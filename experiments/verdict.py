"""The verdict of an experiment report: ship, don't ship, or keep running, with reasons.

:func:`decide` reads the analysed report (:func:`experiments.report.analyse`) only, so
the console, the page and ``report.json`` all say the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Decision = Literal["ship", "dont_ship", "keep_running"]
WORDS: dict[str, str] = {"ship": "ship", "dont_ship": "don't ship", "keep_running": "keep running"}


@dataclass(frozen=True)
class Verdict:
    """What to do with an experiment, and why.

    Attributes:
        decision: ``ship``, ``dont_ship`` or ``keep_running``.
        treatment: The treatment the decision is about (the one to ship, or the only
            one); ``None`` when it is about the whole experiment.
        reasons: One sentence per reason, most important first.
        investigate: The data cannot be trusted (sample-ratio mismatch): find out why
            before reading any result.
    """

    decision: Decision
    treatment: str | None
    reasons: list[str] = field(default_factory=list)
    investigate: bool = False

    def line(self) -> str:
        """One line for a console headline, e.g. ``verdict: ship treatment (…)``."""
        head = WORDS[self.decision] + (f" {self.treatment}" if self.treatment else "")
        if self.investigate:
            head += ", investigate"
        return f"verdict: {head}" + (f" ({'; '.join(self.reasons)})" if self.reasons else "")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the console line as ``line``."""
        return asdict(self) | {"line": self.line()}


def decide(report: dict[str, Any]) -> Verdict:
    """The verdict of an analysed report.

    The rule, per treatment against the control, first match wins:

    1. Sample-ratio mismatch flagged (χ² p below the threshold) → ``keep_running`` with
       ``investigate``: assignment or logging is broken and no result can be trusted.
    2. No comparison of the primary metric yet (an arm without units) → ``keep_running``.
    3. Any guardrail breached by the treatment (relative harm, or a latency budget
       exceeded) → ``dont_ship``.
    4. The primary metric is significantly worse (fixed-horizon p < α in the harmful
       direction, or the always-valid interval wholly on the harmful side) →
       ``dont_ship``.
    5. The primary metric is significantly better and either the planned sample is
       reached (``design``) or the always-valid (mSPRT) interval excludes 0 on the good
       side (peeking-safe) → ``ship``.
    6. The planned sample is reached without a significant effect → ``dont_ship`` (the
       effect, if any, is below the design's minimum detectable effect).
    7. Otherwise → ``keep_running``, saying how far the units are from the plan (or that
       the design plans none; then only the always-valid test can end it).

    With several treatments: ``ship`` the shippable one with the largest relative lift
    if there is one; ``dont_ship`` when every treatment is ``dont_ship``; else
    ``keep_running`` (each reason names its treatment).

    Args:
        report: :func:`experiments.report.analyse`'s answer.
    """
    srm = report["srm"]
    if srm["flagged"]:
        reason = (
            f"sample-ratio mismatch: χ² p = {srm['p_value']:.3g} < {srm['threshold']:g}; "
            "assignment or logging is broken, do not trust the results"
        )
        return Verdict("keep_running", None, [reason], investigate=True)
    treatments = [
        t for t in report["experiment"]["variants"] if t["name"] != report["experiment"]["control"]
    ]
    each = {t["name"]: _decide_one(report, t["name"]) for t in treatments}
    return _combine(report, each)


def _decide_one(report: dict[str, Any], treatment: str) -> Verdict:
    """Rules 2–7 of :func:`decide` for one treatment."""
    primary = report["experiment"]["primary_metric"]
    metric = report["metrics"].get(primary)
    comparison = (metric or {}).get("comparisons", {}).get(treatment)
    if comparison is None or comparison["p_value"] is None:
        return Verdict("keep_running", treatment, [f"not enough data for {primary} yet"])
    broken = [b["text"] for b in report["guardrail_breaches"] if b["treatment"] == treatment]
    if broken:
        return Verdict("dont_ship", treatment, [f"guardrail breached: {t}" for t in broken])
    better = metric["higher_is_better"]
    fixed = _fixed_direction(comparison, report["alpha"], better)
    always = _sequential_direction(report, treatment, better)
    effect = _effect(primary, comparison, report, treatment)
    design = report.get("design")
    if "worse" in (fixed, always):
        return Verdict("dont_ship", treatment, [f"{effect}: significantly worse"])
    if always == "better" or (fixed == "better" and design and design["reached"]):
        why = "the always-valid test crossed" if always == "better" else "planned sample reached"
        return Verdict("ship", treatment, [f"{effect}: significantly better, {why}"])
    if design and design["reached"]:
        return Verdict(
            "dont_ship",
            treatment,
            [f"{effect}: no significant effect at the planned sample ({_progress(design)})"],
        )
    return Verdict("keep_running", treatment, [_why_keep_running(effect, fixed, design)])


def _fixed_direction(comparison: dict[str, Any], alpha: float, higher_is_better: bool) -> str:
    """``better``, ``worse`` or ``none``: the fixed-horizon test at level α."""
    if comparison["p_value"] >= alpha or not comparison["absolute"]:
        return "none"
    return "better" if (comparison["absolute"] > 0) == higher_is_better else "worse"


def _sequential_direction(report: dict[str, Any], treatment: str, higher_is_better: bool) -> str:
    """``better``, ``worse`` or ``none``: where the always-valid (mSPRT) confidence
    sequence of the last look lies; it excludes 0 exactly when its p-value < α."""
    sequential = (report.get("timeline") or {}).get("sequential", {}).get(treatment, {})
    low, high = sequential.get("interval") or (None, None)
    if low is None or high is None or low <= 0 <= high:
        return "none"
    return "better" if (low > 0) == higher_is_better else "worse"


def _effect(primary: str, comparison: dict[str, Any], report: dict[str, Any], t: str) -> str:
    """``conversion +5.1% [+1.2%, +9.0%], p = 0.01 (always-valid p = 0.2)``."""
    low, high = comparison["relative_ci"]
    sequential = (report.get("timeline") or {}).get("sequential", {}).get(t, {})
    always = sequential.get("p_value")
    tail = "" if always is None else f", always-valid p = {always:.3g}"
    return (
        f"{primary} {_pct(comparison['relative'])} [{_pct(low)}, {_pct(high)}], "
        f"p = {comparison['p_value']:.3g}{tail}"
    )


def _why_keep_running(effect: str, fixed: str, design: dict[str, Any] | None) -> str:
    where = (
        f"{_progress(design)} of the planned sample"
        if design
        else "the design plans no sample size (set `design:`), so only the always-valid "
        "test can end it"
    )
    if fixed == "better":
        return f"{effect}: significant only at a fixed horizon not reached yet; {where}"
    return f"{effect}: not significant yet; {where}"


def _progress(design: dict[str, Any]) -> str:
    """``41,200 of 122,121 units per variant (34%)`` for the least advanced arm."""
    planned, units = design["planned_units"], design["units"]
    arm = min(planned, key=lambda v: units[v] / planned[v])
    share = design["progress"]
    return f"{units[arm]:,} of {planned[arm]:,} units in {arm} ({share:.0%})".replace(
        "(0%)", "(under 1%)" if share > 0 else "(0%)"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2%}"


def _combine(report: dict[str, Any], each: dict[str, Verdict]) -> Verdict:
    """One verdict from the treatments' (see :func:`decide`)."""
    if len(each) == 1:
        return next(iter(each.values()))
    primary = report["experiment"]["primary_metric"]
    metric = report["metrics"].get(primary, {})
    sign = 1.0 if metric.get("higher_is_better", True) else -1.0
    shippable = [t for t, v in each.items() if v.decision == "ship"]
    if shippable:
        best = max(shippable, key=lambda t: sign * (metric["comparisons"][t]["relative"] or 0.0))
        return Verdict("ship", best, each[best].reasons)
    named = [f"{t}: {WORDS[v.decision]}, {r}" for t, v in each.items() for r in v.reasons]
    if all(v.decision == "dont_ship" for v in each.values()):
        return Verdict("dont_ship", None, named)
    return Verdict("keep_running", None, named)
