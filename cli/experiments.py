"""A/B experiments: define, list, stop, size, analyse, and check end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import DataDir, app, user_errors
from jobs import experiments

experiments_app = typer.Typer(
    help="A/B experiments: definitions, sample sizes, reports.", no_args_is_help=True
)
app.add_typer(experiments_app, name="experiments")

DbUrl = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        help="Experiment store URL (default: db_url in configs/experiments.yaml, else "
        "the shop's state/experiments.db).",
    ),
]
SettingsYaml = Annotated[
    Path | None,
    typer.Option("--settings", help="Settings YAML (default: configs/experiments.yaml)."),
]


def _headline(comparison: dict[str, Any], sequential: dict[str, Any]) -> str:
    """One line per treatment: lift, interval, p-values, chance to beat."""
    c = comparison
    low, high = c["relative_ci"]
    if None in (c["relative"], low, high, c["p_value"], c["chance_to_beat"]):
        return "not enough data"
    always_valid = sequential.get("p_value")
    seq = "" if always_valid is None else f", always-valid p = {always_valid:.3g}"
    return (
        f"{c['relative']:+.2%} [{low:+.2%}, {high:+.2%}], p = {c['p_value']:.3g}{seq}, "
        f"chance to beat {c['chance_to_beat']:.1%}"
    )


def _ms(value: float | None) -> str:
    return "no latencies" if value is None else f"{value:.3g} ms"


def print_simulated(results: dict[str, dict[str, Any]]) -> None:
    """Each simulated experiment's measured lift beside the lift the truth implies."""
    for r in results.values():
        low, high = r["measured_ci"]
        u_low, u_high = r["unadjusted_ci"]
        p = "n/a" if r["unadjusted_p_value"] is None else f"{r['unadjusted_p_value']:.3g}"
        typer.echo(
            f"{r['surface']}: {r['primary_metric']} {r['treatment']} vs {r['control']}: "
            f"measured {r['measured_lift']:+.2%} [{low:+.2%}, {high:+.2%}] ({r['estimator']}; "
            f"unadjusted {r['unadjusted_lift']:+.2%} [{u_low:+.2%}, {u_high:+.2%}], "
            f"p = {p}); the truth implies {r['true_lift']:+.2%} "
            f"({r['events']:,} events)"
        )
        if "verdict" in r:  # simulated.json of an older run has none
            typer.echo(f"  {r['verdict']}")
        for breach in r.get("guardrail_breaches", []):
            typer.echo(f"  guardrail breached: {breach}")
        typer.echo(f"  report: {r['report']}")


@experiments_app.command("create")
@user_errors
def create_command(
    config: Annotated[Path, typer.Argument(help="Experiment YAML (configs/experiments/*.yaml).")],
    data_dir: DataDir = None,
    db_url: DbUrl = None,
    settings: SettingsYaml = None,
) -> None:
    """Register an experiment (or update a running one whose randomisation is unchanged)."""
    outcome, experiment = experiments.create(config, data_dir, db_url, settings)
    variants = ", ".join(f"{v.name} {v.weight:.0%}" for v in experiment.variants)
    typer.echo(
        f"{outcome} {experiment.name}: {experiment.surface} by {experiment.unit}; {variants}"
    )


@experiments_app.command("list")
@user_errors
def list_command(
    data_dir: DataDir = None, db_url: DbUrl = None, settings: SettingsYaml = None
) -> None:
    """Every experiment with its status, surface, unit and variants."""
    stored = experiments.list_all(data_dir, db_url, settings)
    if not stored:
        typer.echo("no experiments yet (storefront experiments create CONFIG_YAML)")
    for s in stored:
        e = s.experiment
        variants = ", ".join(f"{v.name} {v.weight:.0%}" for v in e.variants)
        typer.echo(
            f"{e.name:28} {s.status:8} {e.surface:16} {e.unit:10} {variants} "
            f"(since {s.created_at:%Y-%m-%d})"
        )


@experiments_app.command("stop")
@user_errors
def stop_command(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    data_dir: DataDir = None,
    db_url: DbUrl = None,
    settings: SettingsYaml = None,
) -> None:
    """Stop a running experiment; its logs stay for the report."""
    experiments.stop(name, data_dir, db_url, settings)
    typer.echo(f"stopped {name}")


@experiments_app.command("size")
@user_errors
def size_command(
    baseline: Annotated[float, typer.Option(help="Control rate, or mean with --sd.")],
    mde: Annotated[float, typer.Option(help="Minimum detectable effect, relative (0.05 = +5%).")],
    sd: Annotated[float | None, typer.Option(help="Per-unit sd of a continuous metric.")] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    power: Annotated[float, typer.Option(help="Chance to detect the effect.")] = 0.8,
    weights: Annotated[
        str, typer.Option(help="Traffic shares, control first, comma-separated.")
    ] = "0.5,0.5",
    daily_units: Annotated[
        float | None, typer.Option(help="New units entering the test per day.")
    ] = None,
) -> None:
    """Units per variant (and days) to detect a relative effect."""
    result = experiments.size(baseline, mde, sd, alpha, power, weights, daily_units)
    per_variant = ", ".join(f"{n:,}" for n in result.per_variant)
    typer.echo(f"units per variant: {per_variant} (total {result.total:,})")
    if result.days is not None:
        typer.echo(f"duration: {result.days} days at {daily_units:,.0f} units per day")


@experiments_app.command("report")
@user_errors
def report_command(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: the shop's state/reports/NAME)."),
    ] = None,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
    settings: SettingsYaml = None,
) -> None:
    """Analyse an experiment: write report.html and report.json, print the headline."""
    job = experiments.report(name, data_dir, out, db_url, settings)
    for line in report_headline(name, job.report):
        typer.echo(line)
    typer.echo(f"wrote {job.html_path} and {job.json_path}")


def report_headline(name: str, report: dict[str, Any]) -> list[str]:
    """The console headline of a report: the verdict first, then each guardrail breach,
    the units and the SRM test, and the primary metric per treatment."""
    lines = [f"{name}: {report['verdict']['line']}"]
    lines += [
        f"  guardrail breached: {b['treatment']}: {b['text']}"
        for b in report.get("guardrail_breaches", [])
    ]
    primary = report["experiment"]["primary_metric"]
    srm = report["srm"]
    test = "no units yet" if srm.get("p_value") is None else f"SRM p = {srm['p_value']:.3g}"
    flag = " FLAGGED: assignment or logging is broken" if srm["flagged"] else ""
    lines.append(f"{report['units']:,} units; {test}{flag}")
    sequential = (report.get("timeline") or {}).get("sequential", {})
    for treatment, c in report["metrics"].get(primary, {}).get("comparisons", {}).items():
        lines.append(f"{primary} {treatment}: {_headline(c, sequential.get(treatment, {}))}")
    for budget_name, budget in (report.get("guardrail_budgets") or {}).items():
        arms = ", ".join(f"{v} {_ms(a['value'])}" for v, a in budget["per_variant"].items())
        lines.append(f"{budget_name} (budget {budget['limit_ms']:g} ms): {arms}")
    return lines


@experiments_app.command("simulate")
@user_errors
def simulate_command(
    data_dir: DataDir = None,
    url: Annotated[str, typer.Option(help="The running service.")] = "http://127.0.0.1:3000",
    traffic: Annotated[
        Path | None, typer.Option(help="Traffic YAML (default: configs/traffic.yaml).")
    ] = None,
    settings: SettingsYaml = None,
) -> None:
    """Drive simulated shoppers (the shop's ground truth) against the running service:
    the home-feed ranker against popularity, and optimised against current prices (by
    item); print each report's lift beside the lift the truth implies."""
    print_simulated(experiments.simulate(data_dir, url, traffic, settings))
