"""Command-line pieces for reports and gating: ``fix`` and ``config`` commands, report writing, baselines.

``cli.py`` registers the commands (``main.add_command(fix_command)``, ``main.add_command(config_command)``),
decorates ``scan`` with :func:`baseline_options`, and calls :func:`use_baseline` then :func:`write_report`
after the scan. Everything here raises :class:`~splitcheck.errors.SplitcheckError` for user errors; the
caller turns them into exit code 2.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from splitcheck.cli_common import errors_to_exit_code, named_splits, progress_bars
from splitcheck.errors import ConfigError, InputError
from splitcheck.report import Report

#: Formats :func:`write_report` writes (``--format``).
REPORT_FORMATS = ("terminal", "json", "markdown", "junit", "html")

F = TypeVar("F", bound=Callable[..., Any])


# --- report writing -------------------------------------------------------------------------------------------

def render_report(report: Report, fmt: str, *, max_rows: int = 10, explanation: Mapping[str, Any] | None = None,
                  to_terminal: bool = False) -> str:
    """The report as text in ``fmt`` (one of :data:`REPORT_FORMATS`)."""
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "markdown":
        from splitcheck.reporters.markdown import render_markdown

        return render_markdown(report, max_pairs=min(max_rows, 10) if max_rows else 0)
    if fmt == "junit":
        from splitcheck.reporters.junit import render_junit

        return render_junit(report, max_rows=max_rows)
    if fmt == "html":
        from splitcheck.reporters.html import render_html

        return render_html(report, explanation=explanation)
    if fmt == "terminal":
        from splitcheck.reporters.terminal import render_terminal

        buffer = io.StringIO()
        render_terminal(report, buffer, max_rows=max_rows, color=False, width=120)
        return buffer.getvalue()
    raise ConfigError(f"unknown report format {fmt!r}; choose one of {', '.join(REPORT_FORMATS)}")


def write_report(report: Report, fmt: str, output: str | None, *, max_rows: int = 10,
                 explanation: Mapping[str, Any] | None = None) -> None:
    """Write the report in ``fmt`` to ``output``, or to standard output when ``output`` is None.

    Only the report goes to standard output (progress and messages use standard error). The terminal
    format is coloured when standard output is a terminal. Raises :class:`InputError` when ``output``
    cannot be written.
    """
    if fmt == "terminal" and output is None:
        from splitcheck.reporters.terminal import render_terminal

        render_terminal(report, max_rows=max_rows)
        return
    text = render_report(report, fmt, max_rows=max_rows, explanation=explanation)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{output}: cannot write the report: {exc.strerror or exc}") from None


# --- baselines ------------------------------------------------------------------------------------------------

def baseline_options(command: F) -> F:
    """Add ``--baseline FILE`` and ``--write-baseline FILE`` to a click command (parameters ``baseline``,
    ``write_baseline``)."""
    command = click.option(
        "--write-baseline", "write_baseline", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
        help="Record every finding of this scan as accepted in FILE (JSON) and do not fail on them.")(command)
    command = click.option(
        "--baseline", "baseline", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
        help="Accepted findings (written by --write-baseline): fail only on findings not in FILE "
             "(matched by rule code and item ids).")(command)
    return command


def use_baseline(report: Report, baseline: str | None, write_baseline: str | None,
                 echo: Callable[[str], None] | None = None) -> Report:
    """Apply ``--baseline`` (read first) and ``--write-baseline``; returns the report to render.

    With ``--write-baseline`` every finding of the scan is recorded and, being accepted now, marked
    baselined (the gate passes unless a scanner failed). Messages go to ``echo`` (default: stderr).
    """
    from splitcheck.baseline import apply_baseline, baseline_from_report, read_baseline
    from splitcheck.baseline import write_baseline as write

    say = echo or (lambda text: click.echo(text, err=True))
    if baseline:
        accepted = read_baseline(baseline)
        report = apply_baseline(report, accepted)
        n = sum(f.baselined for f in report.findings)
        say(f"splitcheck: baseline {baseline}: {n} of {len(report.findings)} finding(s) accepted")
    if write_baseline:
        count = write(report, write_baseline)
        report = apply_baseline(report, baseline_from_report(report))
        say(f"splitcheck: wrote baseline {write_baseline} with {count} finding(s)")
    return report


# --- splitcheck fix -------------------------------------------------------------------------------------------

@click.command("fix")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--output", "-o", "output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="New (or empty) folder for the cleaned manifests; must not be inside a split's folder.")
@click.option("--strategy", type=click.Choice(["drop", "move", "dedupe"]), default="drop", show_default=True,
              help="drop: leave leaked items out of val/test; move: move them to training; "
                   "dedupe: keep one item per duplicate cluster.")
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option("--relative-paths", is_flag=True,
              help="Write paths relative to the output folder instead of absolute paths.")
@click.option("--split", "extra", multiple=True, metavar="NAME=PATH", help="A split with its own name (repeatable).")
@click.option("--label-column", help="Column of a manifest holding the class label.")
@click.option("--path-column", help="Column of a manifest holding image paths.")
@click.option("--id-column", help="Column holding item ids.")
@click.option("--group-column", help="Column holding group ids (shared groups are leakage).")
@click.option("--time-column", help="Column holding timestamps (items older than training are leakage).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: nearest splitcheck.toml or pyproject.toml [tool.splitcheck]).")
@click.option("--no-progress", is_flag=True, help="Do not show progress bars on standard error.")
def fix_command(paths: tuple[str, ...], output: Path, strategy: str, dry_run: bool, relative_paths: bool,
                extra: tuple[str, ...], label_column: str | None, path_column: str | None, id_column: str | None,
                group_column: str | None, time_column: str | None, config_path: str | None,
                no_progress: bool) -> None:
    """Write cleaned split manifests (CSV: path,label) to a new folder; the data is never modified.

    PATHS are image splits in order: TRAIN VAL [TEST] (folders or manifests). The splits are scanned,
    then items that leak from training are dropped from val/test (--strategy drop), moved to training
    (move), or duplicate clusters are reduced to one item (dedupe). OUTPUT gets one CSV per split and
    changes.csv listing every change with its rule code.
    """
    from splitcheck.api import scan
    from splitcheck.fix import check_output_dir, run_fix
    from splitcheck.loaders import LoadOptions, load_split

    named = named_splits(paths, extra, at_least=2, example="splitcheck fix data/train data/val -o cleaned/")
    options = LoadOptions(label_column=label_column, path_column=path_column, id_column=id_column,
                          group_column=group_column, time_column=time_column, modality="image")
    with errors_to_exit_code():
        seen: dict[str, str] = {}
        for name, source in named.items():
            key = os.path.realpath(source)
            if key in seen:
                raise InputError(f"{source}: splits {seen[key]!r} and {name!r} are the same path")
            seen[key] = name
        loaded = [load_split(name, source, options) for name, source in named.items()]
        check_output_dir(output, loaded)
        with progress_bars(not no_progress and sys.stderr.isatty()) as progress:
            report = scan(**{s.name: s for s in loaded}, config=config_path, fail_on="never", progress=progress)
        if report.failed_scanners:
            names = ", ".join(r.name for r in report.failed_scanners)
            raise InputError(f"scanner(s) {names} failed, so the plan would be incomplete; nothing was written")
        run_fix(loaded, report, output, strategy=strategy, dry_run=dry_run, relative=relative_paths,
                echo=click.echo)


# --- splitcheck config ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    """One effective setting: its key as written in the file, its value, and where the value came from."""

    key: str
    value: Any
    source: str  # "default", a file path, or "command line"
    doc: str = ""


#: What the top-level settings mean (shown by ``splitcheck config --format json``).
TOP_LEVEL_DOCS = {
    "fail-on": "lowest severity that fails the gate (exit 1)",
    "ignore": "rule codes or prefixes left out of the report",
    "jobs": "processes for decoding (unset: all available cores)",
    "max-image-pixels": "larger images are refused as decompression bombs (DQ101)",
    "cache": "keep image signatures in a cache so that an unchanged dataset rescans fast",
    "cache-dir": "folder of the signature cache (unset: $SPLITCHECK_CACHE_DIR or the user cache folder)",
}


def effective_settings(config_path: str | None = None, *, overrides: Mapping[str, Any] | None = None,
                       ignore: tuple[str, ...] | list[str] = ()) -> list[Setting]:
    """Every setting a scan would use, with its origin: default, the configuration file, or the command line.

    ``overrides`` maps top-level keys as written in the file (``fail-on``, ``jobs``, ``cache-dir``...) to
    command-line values (None: not given); ``ignore`` codes are added to the file's, as scan does.
    Raises :class:`ConfigError` (naming the file and key) for an invalid file, exactly as a scan would.
    """
    from splitcheck.config import config_from_mapping, find_config_file, load_config
    from splitcheck.scanners import registered_scanners

    file = Path(config_path) if config_path is not None else find_config_file()
    config = load_config(file, search=False)
    table = _raw_table(file) if file is not None and config.source != "defaults" else {}
    where = str(file) if file is not None else "default"
    given = {str(k).replace("_", "-"): v for k, v in table.items()}

    def origin(key: str) -> str:
        return where if key in given else "default"

    top = {k.replace("_", "-"): v for k, v in config.to_dict().items() if k not in ("severity", "scanners", "source")}
    settings = [Setting(key, value, origin(key), TOP_LEVEL_DOCS.get(key, "")) for key, value in top.items()]
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in top:
            raise ConfigError(f"unknown setting {key!r}; known settings: {', '.join(top)}")
        config_from_mapping({key: value}, source="command line", where="option")  # validates the value
        settings = [Setting(key, value, "command line", s.doc) if s.key == key else s for s in settings]
    codes = [c.strip().upper() for item in ignore for c in item.split(",") if c.strip()]
    if codes:
        settings = [Setting("ignore", [*config.ignore, *codes],
                            "command line" if not config.ignore else f"{s.source} + command line", s.doc)
                    if s.key == "ignore" else s for s in settings]

    file_severity = {str(k).upper() for k in (given.get("severity") or {})}
    for cls in registered_scanners().values():
        for code, rule in cls.rules.items():
            level = config.severity.get(code, rule.severity).value
            settings.append(Setting(f"severity.{code}", level, where if code in file_severity else "default",
                                    rule.doc))
    for cls in registered_scanners().values():
        section = cls.name.replace("_", "-")
        file_params = {str(k).replace("-", "_") for k in (given.get(section) or {})}
        chosen = config.scanners.get(cls.name, {})
        for key, param in cls.params.items():
            settings.append(Setting(f"{section}.{key.replace('_', '-')}", chosen.get(key, param.default),
                                    where if key in file_params else "default", param.doc))
    return settings


def format_settings(settings: list[Setting]) -> str:
    """Settings as a ``[tool.splitcheck]`` TOML table, each line commented with its origin."""
    lines = ["[tool.splitcheck]"]
    section = ""
    rows: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(text) for text, _ in rows), default=0)
        lines.extend(f"{text:<{width}}  # {note}" for text, note in rows)
        rows.clear()

    for setting in settings:
        head, _, key = setting.key.rpartition(".")
        if head != section:
            flush()
            lines += ["", f"[tool.splitcheck.{head}]"]
            section = head
        if setting.value is None:
            rows.append((f"# {key} (not set)", setting.source))
        else:
            rows.append((f"{key} = {_toml_value(setting.value)}", setting.source))
    flush()
    return "\n".join(lines) + "\n"


@click.command("config")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: nearest splitcheck.toml or pyproject.toml [tool.splitcheck]).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default=None,
              help="As for scan: shows the effect of the command-line value.")
@click.option("--ignore", "ignore", multiple=True, metavar="CODES", help="As for scan (comma-separated codes).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="As for scan.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str), help="As for scan.")
@click.option("--no-cache", is_flag=True, help="As for scan.")
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml", show_default=True,
              help="toml: a [tool.splitcheck] table with each origin as a comment; json: key -> value, source.")
def config_command(config_path: str | None, fail_on: str | None, ignore: tuple[str, ...], jobs: int | None,
                   cache_dir: str | None, no_cache: bool, fmt: str) -> None:
    """Print the effective configuration and where each value comes from (default, file, command line)."""

    overrides = {"fail-on": fail_on, "jobs": jobs, "cache-dir": cache_dir, "cache": False if no_cache else None}
    with errors_to_exit_code():
        settings = effective_settings(config_path, overrides=overrides, ignore=ignore)
    if fmt == "json":
        data = {s.key: {"value": s.value, "source": s.source, "doc": s.doc} for s in settings}
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(format_settings(settings), nl=False)


def _raw_table(file: Path) -> dict[str, Any]:
    """The splitcheck table of ``file`` as written (already validated by ``load_config``)."""
    data = tomllib.loads(file.read_text(encoding="utf-8"))
    if file.name == "pyproject.toml" or "tool" in data:
        table = data.get("tool", {}).get("splitcheck", {})
        return table if isinstance(table, dict) else {}
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
