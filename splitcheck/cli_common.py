"""What every splitcheck command shares: one-line errors with exit codes, split arguments, progress bars."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from splitcheck.errors import SplitcheckError
from splitcheck.report import ExitCode

#: Exit code of a scan interrupted with Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def fail(message: str, code: int = ExitCode.USAGE_ERROR) -> NoReturn:
    """Print ``splitcheck: error: message`` on stderr and exit with ``code`` (2 unless told)."""
    click.echo(f"splitcheck: error: {message}", err=True)
    sys.exit(code)


@contextmanager
def errors_to_exit_code() -> Iterator[None]:
    """User errors become one line and exit 2; Ctrl-C exits 130; a bug exits 3 (traceback with SPLITCHECK_DEBUG=1)."""
    try:
        yield
    except SplitcheckError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        click.echo("splitcheck: interrupted", err=True)
        sys.exit(INTERRUPTED)
    except Exception as exc:  # a bug: say so, with the traceback when asked
        if os.environ.get("SPLITCHECK_DEBUG"):
            traceback.print_exc()
        fail(f"internal error: {type(exc).__name__}: {exc} (set SPLITCHECK_DEBUG=1 for the traceback; "
             "please report it)", ExitCode.INTERNAL_ERROR)


def named_splits(paths: tuple[str, ...], extra: tuple[str, ...], *, at_least: int = 1,
                 example: str = "splitcheck scan data/train data/val") -> dict[str, str]:
    """TRAIN VAL [TEST] positional paths plus ``--split NAME=PATH`` options, by split name."""
    if len(paths) > 3:
        raise click.UsageError("give at most three positional splits (TRAIN VAL TEST); use --split NAME=PATH for more")
    named = dict(zip(("train", "val", "test"), paths))
    for spec in extra:
        name, sep, value = spec.partition("=")
        if not sep or not name or not value:
            raise click.BadParameter(f"expected NAME=PATH, got {spec!r}", param_hint="--split")
        if name in named:
            raise click.BadParameter(f"split {name!r} is given twice", param_hint="--split")
        named[name] = value
    if len(named) < at_least:
        what = "one split" if at_least == 1 else f"{at_least} splits"
        raise click.UsageError(f"give at least {what}, e.g. {example}")
    return named


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Callable[[str, int], Callable[[int], None]] | None]:
    """A factory of progress bars on stderr (``factory(description, total)(k)`` advances by k), or None."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        def factory(description: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=total)
            return lambda k: bar.advance(task, k)

        yield factory
