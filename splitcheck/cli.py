"""The ``splitcheck`` command line: thin over the API; the only module that prints and exits."""

from __future__ import annotations

import atexit
import gc
import sys
from pathlib import Path
from typing import Any

import click

from splitcheck import __version__
from splitcheck.api import scan
from splitcheck.cli_reports import (
    REPORT_FORMATS,
    baseline_options,
    config_command,
    fix_command,
    use_baseline,
    write_report,
)
from splitcheck.cli_common import errors_to_exit_code, fail, named_splits, progress_bars
from splitcheck.cli_explain import explain as explain_command
from splitcheck.config import load_config
from splitcheck.signatures.cache import SignatureCache, default_cache_dir
from splitcheck.report import ExitCode

FORMATS = REPORT_FORMATS


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="splitcheck")
def main() -> None:
    """Check machine-learning dataset splits (train / validation / test) for leakage and sanity problems.

    \b
    Examples:
      splitcheck scan data/train data/val
      splitcheck scan train.csv val.csv --group-column patient_id --time-column date
      splitcheck scan data/train data/val --format json --output report.json
      splitcheck demo

    Exit codes: 0 pass, 1 findings at or above --fail-on, 2 bad usage or unusable input,
    3 internal error.
    """
    atexit.unregister(_freeze_at_exit)  # once per process, however often the command runs in it
    atexit.register(_freeze_at_exit)


def _freeze_at_exit() -> None:
    """Spare the interpreter its garbage collections over every object while it shuts down.

    With pandas and scikit-learn loaded they take 0.1-0.25 s on each run of the command: a tenth of a cached
    rescan of 20,000 images. Objects are still released (files closed, finalizers run); only cycles are left
    to the operating system, which takes back the whole process at once.
    """
    gc.freeze()


@main.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--split", "extra", multiple=True, metavar="NAME=PATH",
              help="A split with its own name (repeatable), e.g. --split holdout=data/holdout.")
@click.option("--label-column", help="Column holding the class label (default: label/target/class/y if present).")
@click.option("--group-column", help="Column holding group ids (patient, user, session) for group leakage.")
@click.option("--time-column", help="Column holding timestamps for temporal leakage.")
@click.option("--id-column", help="Column holding item ids (default: 'id' if present, else the row number).")
@click.option("--text-column", help="Column holding the text of a text split (default: 'text').")
@click.option("--path-column", help="Column of a manifest holding image paths (relative to the manifest).")
@click.option("--modality", type=click.Choice(["image", "table", "text", "vector"]),
              help="Force how the splits are read (default: detected from what the path holds).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default=None,
              help="Lowest severity that fails the gate (exit 1). Default: error, or the config's fail-on.")
@click.option("--exit-zero", is_flag=True, help="Report without gating: exit 0 even when findings reach the gate.")
@click.option("--ignore", "ignore", multiple=True, metavar="CODES",
              help="Rule codes or prefixes to leave out, comma-separated (e.g. DS103 or DS).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="terminal", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=str),
              help="Write the report to this file instead of standard output.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: nearest splitcheck.toml or pyproject.toml [tool.splitcheck]).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Processes for decoding images (default: all cores).")
@click.option("--embedder", metavar="NAME|PATH",
              help="Embedder for semantic near-copies (LK103): colour-gradient (images; opt-in), learned, tfidf "
                   "(text, default), minilm, table (default), raw, torchvision:|timm:|open_clip:MODEL[@WEIGHTS] "
                   "with weights on disk, or a TorchScript file.")
@click.option("--embeddings", "embeddings", multiple=True, metavar="SPLIT=FILE",
              help="Precomputed vectors of a split (.npy rows in item order; .npz with ids; Parquet/CSV id + "
                   "vector columns); give one per split.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default=None,
              help="Where image signatures are computed: local processes (default) or a Dask cluster "
                   "(pip install 'splitcheck[dask]').")
@click.option("--dask-address", metavar="ADDRESS",
              help="Scheduler of the Dask cluster (tcp://host:8786); default: a local cluster started for the run.")
@click.option("--dask-shard-dir", metavar="DIR",
              help="With --executor dask: folder or URI where the workers keep their signature shards; above "
                   "cluster-search-above images the leakage searches then run on the cluster.")
@click.option("--explain", "explain_logs", metavar="LOGS", type=click.Path(exists=True, path_type=str),
              help="Training logs (file or folder of runs) to explain with this scan's findings; the explanation "
                   "follows the terminal report and is drawn in the HTML report (see 'splitcheck explain').")
@click.option("--losses", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Per-sample losses of your model (CSV/Parquet/JSONL: id, loss[, split, epoch]; the last epoch "
                   "of each split is used): validation loss on leaked vs clean items, per class, re-weighted.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str),
              help="Folder of the signature cache (default: $SPLITCHECK_CACHE_DIR or ~/.cache/splitcheck).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the signature cache.")
@click.option("--max-rows", type=click.IntRange(min=0), default=10, show_default=True,
              help="Evidence rows shown per finding in the terminal report.")
@click.option("--no-progress", is_flag=True, help="Do not show progress bars on standard error.")
@baseline_options
def scan_command(paths: tuple[str, ...], extra: tuple[str, ...], label_column: str | None,
                 group_column: str | None, time_column: str | None, id_column: str | None,
                 text_column: str | None, path_column: str | None, modality: str | None, fail_on: str | None,
                 exit_zero: bool, ignore: tuple[str, ...], fmt: str, output: str | None,
                 config_path: str | None, jobs: int | None, executor: str | None, dask_address: str | None,
                 dask_shard_dir: str | None, embedder: str | None, embeddings: tuple[str, ...],
                 explain_logs: str | None, losses: str | None, cache_dir: str | None,
                 no_cache: bool,
                 max_rows: int, no_progress: bool, baseline: str | None, write_baseline: str | None) -> None:
    """Scan splits for leakage and sanity problems.

    PATHS are the splits in order: TRAIN VAL [TEST]. Each is an image folder (class sub-folders are
    labels), a CSV/TSV/Parquet/JSONL table or image manifest, or a .npy/.npz array. Use --split
    NAME=PATH for other names. The first split is the reference (training) split.
    """
    named: dict[str, Any] = named_splits(paths, extra)
    codes = [c.strip() for item in ignore for c in item.split(",") if c.strip()]
    show_progress = not no_progress and sys.stderr.isatty()
    with errors_to_exit_code(), progress_bars(show_progress) as progress:
        train = named.pop("train", None)
        val = named.pop("val", None)
        test = named.pop("test", None)
        report = scan(train, val, test, label_column=label_column, group_column=group_column,
                      time_column=time_column, id_column=id_column, text_column=text_column,
                      path_column=path_column, modality=modality, config=config_path, fail_on=fail_on,
                      ignore=codes or None, jobs=jobs, cache_dir=cache_dir,
                      use_cache=False if no_cache else None, losses=losses, embedder=embedder,
                      embeddings=_split_files(embeddings, "--embeddings"), executor=executor,
                      dask_address=dask_address, dask_shard_dir=dask_shard_dir,
                      progress=progress, **named)
        report = use_baseline(report, baseline, write_baseline)
        explained = _explain(explain_logs, report) if explain_logs else None
        write_report(report, fmt, output, max_rows=max_rows,
                     explanation=_html_explanation(explained) if explained is not None else None)
        if explained is not None and fmt == "terminal" and not output:
            from splitcheck.cli_explain import render_explanation

            render_explanation(explained)
    sys.exit(ExitCode.OK if exit_zero and report.exit_code == ExitCode.FINDINGS else report.exit_code)


@main.command("demo")
@click.option("--fixtures", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the bundled fixtures (default: the repository's fixtures/).")
def demo_command(fixtures: Path | None) -> None:
    """Scan the bundled fixtures (images, a table, a text set) and show what splitcheck finds."""
    root = fixtures or Path(__file__).resolve().parent.parent / "fixtures"
    if not (root / "images").is_dir():
        fail(f"{root}: bundled fixtures not found; run the demo from a source checkout or pass --fixtures")
    runs = [
        ("Image folders with planted copies", dict(train=root / "images/train", val=root / "images/val")),
        ("Patient table with shared patients and overlapping dates",
         dict(train=root / "tabular/train.csv", val=root / "tabular/val.csv",
              group_column="patient_id", time_column="visit_date")),
        ("Text reviews with case- and space-variant copies",
         dict(train=root / "text/train.jsonl", val=root / "text/val.jsonl")),
    ]
    with errors_to_exit_code():
        for title, kwargs in runs:
            click.secho(f"\n=== {title} ===", bold=True)
            report = scan(**{k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items()},
                          config={}, progress=None)
            from splitcheck.reporters.terminal import render_terminal

            render_terminal(report, max_rows=5)


@main.group("cache")
def cache_group() -> None:
    """Inspect or empty the signature cache (image digests, hashes and properties keyed by content)."""


@cache_group.command("info")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str), help="Cache folder (default: as scan).")
def cache_info_command(cache_dir: str | None) -> None:
    """Print where the cache is, its size and how many signatures it holds."""
    with errors_to_exit_code():
        with SignatureCache(cache_dir or _configured_cache_dir()) as cache:
            for key, value in cache.info().items():
                click.echo(f"{key}: {value}")


@cache_group.command("clear")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str), help="Cache folder (default: as scan).")
def cache_clear_command(cache_dir: str | None) -> None:
    """Delete every cached signature (the next scan decodes every image again)."""
    with errors_to_exit_code():
        with SignatureCache(cache_dir or _configured_cache_dir()) as cache:
            path = cache.path
            freed = cache.clear()
    click.echo(f"cleared {path} ({freed / 1e6:.1f} MB freed)")


def _configured_cache_dir() -> str:
    config = load_config()
    return config.cache_dir or str(default_cache_dir())


def _split_files(specs: tuple[str, ...], option: str) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name or not value:
            raise click.BadParameter(f"expected SPLIT=FILE, got {spec!r}", param_hint=option)
        out[name] = value
    return out or None


main.add_command(explain_command)
main.add_command(fix_command)
main.add_command(config_command)


@main.command("rules")
def rules_command() -> None:
    """List every rule code, its default severity, and each scanner's settings with defaults."""
    from splitcheck.scanners import registered_scanners

    for cls in registered_scanners().values():
        click.secho(f"{cls.name}", bold=True)
        for code, rule in cls.rules.items():
            click.echo(f"  {code}  {rule.name:<32} {rule.severity.value:<8} {rule.doc}")
        for key, param in cls.params.items():
            click.echo(f"    {key.replace('_', '-')} = {param.default!r}: {param.doc}")


if __name__ == "__main__":  # pragma: no cover
    main()


def _explain(logs: str, report: Any) -> Any:
    """``splitcheck.explain`` of the logs with this scan (imported when asked for: scans start faster)."""
    from splitcheck.explain import explain as run_explain

    return run_explain(logs, scan=report)


def _html_explanation(explained: Any) -> Any:
    from splitcheck.explain.explanation import html_explanation

    return html_explanation(explained)
