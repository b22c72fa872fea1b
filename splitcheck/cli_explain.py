"""``splitcheck explain``: read training logs and rank why the curves look the way they do.

Registered on the main group in :mod:`splitcheck.cli` (``main.add_command(explain)``). Thin: parses,
calls :func:`splitcheck.explain.explain`, renders, exits (0 explained, 2 bad usage or unusable input,
3 internal error).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from splitcheck.cli_common import errors_to_exit_code, fail
from splitcheck.findings import Severity

if TYPE_CHECKING:
    from rich.console import Console

    from splitcheck.explain import Explanation
    from splitcheck.explain.explanation import RunExplanation

FORMATS = ("terminal", "json")
_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


@click.command("explain")
@click.argument("logs", type=click.Path(path_type=str))
@click.option("--scan", "scan", type=click.Path(dir_okay=False, path_type=str),
              help="Scan report of the same splits (the JSON of `splitcheck scan --format json`).")
@click.option("--run-config", type=click.Path(dir_okay=False, path_type=str),
              help="JSON/YAML run settings: dropout, augmentation, label_smoothing, weight_decay, batch_size, "
                   "val_size, learning_rate, lr_schedule, ... (override what is read beside the logs).")
@click.option("--train-column", help="Column (or tag) of the training loss (default: recognised by name).")
@click.option("--val-column", help="Column (or tag) of the validation loss (default: recognised by name).")
@click.option("--epoch-column", help="Column of the epoch number (default: epoch).")
@click.option("--step-column", help="Column of the global step (default: step/global_step).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="terminal", show_default=True,
              help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=str),
              help="Write the explanation to this file instead of standard output.")
@click.option("--top", type=click.IntRange(min=1), default=4, show_default=True,
              help="Hypotheses shown per run in the terminal output (JSON lists all of them).")
def explain(logs: str, scan: str | None, run_config: str | None, train_column: str | None,
            val_column: str | None, epoch_column: str | None, step_column: str | None, fmt: str,
            output: str | None, top: int) -> None:
    """Explain loss curves: why validation beats training, fluctuates, or overfits.

    LOGS is a log file or a folder of runs: Keras CSVLogger files, Lightning metrics.csv, Hugging Face
    trainer_state.json, TensorBoard event files (with the tensorboard package), or a generic CSV/JSON
    history. Each hypothesis is ranked with the numbers behind it and the action that would confirm it.

    \b
    Examples:
      splitcheck explain lightning_logs/version_0/metrics.csv
      splitcheck explain runs/ --scan scan.json --run-config run.yaml
      splitcheck explain history.csv --train-column trn --val-column dev --format json
    """
    overrides = {k: v for k, v in (("train_column", train_column), ("val_column", val_column),
                                   ("epoch_column", epoch_column), ("step_column", step_column)) if v}
    from splitcheck.explain import explain as run_explain  # imported when used (start-up time of every command)

    with errors_to_exit_code():
        result = run_explain(logs, scan=scan, run_config=run_config, **overrides)
    if fmt == "json":
        _emit(result.to_json() + "\n", output)
        return
    if output:
        buffer = io.StringIO()
        render_explanation(result, buffer, top=top, color=False, width=120)
        _emit(buffer.getvalue(), output)
    else:
        render_explanation(result, top=top)


def render_explanation(result: Explanation, file: IO[str] | None = None, *, top: int = 4,
                       color: bool | None = None, width: int | None = None) -> None:
    """Human-readable explanation: per run what was read, the ranked hypotheses, and the curve findings."""
    from rich.console import Console  # imported when used: every scan's start-up would pay for it
    from rich.markup import escape

    console = Console(file=file, highlight=False, soft_wrap=True, width=width,
                      no_color=None if color is None else not color, force_terminal=color if color else None)
    if width is None and not console.is_terminal:
        console.width = 160
    console.print(f"[bold]splitcheck explain[/]: {len(result.runs)} run{'s' if len(result.runs) != 1 else ''}")
    if result.scan is not None:
        s = result.scan
        console.print(escape(f"scan {s.source or 'report'}: {s.val_split} {s.n_val:.0f} items, "
                             f"{s.leaked_items} tied to {s.train_split}, codes "
                             f"{', '.join(sorted(set(s.codes))) or 'none'}"))
    for run in result.runs:
        _run(console, run, top)
    if len(result.runs) > 1:
        console.print()
        console.print("[bold]Across runs[/]")
        for rank, h in enumerate(result.hypotheses[:top], 1):
            console.print(f" {rank}. [bold]{h.id}[/] {h.score:.2f}  {escape(h.facts[0])}")


def _run(console: Console, run: RunExplanation, top: int) -> None:
    from rich.markup import escape

    r = run.analysis.run
    console.print()
    console.print(f"[bold]{escape(r.name)}[/] ({escape(r.format)}, {len(r.curves)} evaluations"
                  + (f", {r.curves.steps_per_epoch:g} steps per {r.curves.unit}" if r.curves.steps_per_epoch else "")
                  + ")")
    if r.columns:
        console.print("  [dim]read:[/] " + escape(", ".join(f"{role}={col}" for role, col in r.columns.items())))
    for note in r.notes:
        console.print(f"  [dim]note:[/] {escape(note)}")
    meta = {k: v for k, v in run.metadata.items() if not k.startswith("_")}
    if meta:
        shown = ", ".join(f"{k}={v}" for k, v in meta.items())
        where = f" (from {', '.join(Path(s).name for s in r.metadata_sources)})" if r.metadata_sources else ""
        console.print(f"  [dim]run settings:[/] {escape(shown + where)}")
    shown_hypotheses = [h for i, h in enumerate(run.hypotheses) if i < top and (i == 0 or h.score >= 0.05)]
    for rank, h in enumerate(shown_hypotheses, 1):
        style = "bold green" if h.id == "healthy" and rank == 1 else "bold"
        console.print(f" {rank}. [{style}]{h.id}[/] [dim]score[/] {h.score:.2f}  {escape(h.title)}")
        for fact in h.facts:
            console.print(f"      - {escape(fact)}")
        if h.action and rank <= 3:
            console.print(f"      [dim]confirm:[/] {escape(h.action)}")
    for finding in run.findings:
        style = _STYLE[finding.severity]
        console.print(f"  [{style}]{finding.severity.value.upper()}[/] [bold]{finding.code}[/] {finding.name}: "
                      f"{escape(finding.message)}")


def _emit(text: str, output: str | None) -> None:
    if not output:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{output}: cannot write the explanation: {exc.strerror or exc}")


