"""Run a command as a child process and measure its wall time and memory.

Two memory figures, both in MiB:

- ``peak_rss_mb``: the largest resident set of any single process of the run (the child or one of its
  workers), from the kernel's accounting (``wait4``'s ``ru_maxrss``: the child and every descendant it waited
  for). Exact, but blind to several workers being large at the same time.
- ``peak_tree_mb``: the peak, over samples taken every ``interval`` seconds, of the summed proportional set
  size (PSS: shared pages split between the processes sharing them) of the child and all its descendants,
  from ``/proc``. This is the memory the whole run held at once; a sample can miss a short spike. Samples
  are spaced so that taking them costs at most a tenth of a core (large processes are slow to read).

Linux only (``/proc``, ``os.wait4``).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")
_MB = 1024 * 1024


@dataclass
class Measurement:
    """What one run cost. ``returncode`` is the child's exit code (negative: killed by that signal)."""

    argv: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float
    peak_tree_mb: float
    user_s: float
    sys_s: float
    stdout: str
    stderr: str


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: the fields after the last ')' are fixed
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _descendants(pid: int) -> list[int]:
    children = _children_map()
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, ()))
    return found


def _memory_bytes(pid: int) -> int:
    """PSS of ``pid`` (RSS when smaps_rollup is unavailable); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except OSError:
        return 0


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                total = sum(_memory_bytes(p) for p in _descendants(self.pid))
            except OSError:
                total = 0
            self.peak = max(self.peak, total)
            # reading smaps_rollup of a process of a few GB takes tens of milliseconds: wait at least nine times
            # as long as the sample took, so the sampler never takes more than a tenth of a core from the run
            self.stop.wait(max(self.interval, 9 * (time.perf_counter() - started)))


def run_measured(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
                 interval: float = 0.1, timeout: float | None = None) -> Measurement:
    """Run ``argv`` to completion (stdout and stderr captured to files, so a chatty child never blocks)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
        sampler = _TreeSampler(proc.pid, interval)
        sampler.start()
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen consistent
        sampler.stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        return Measurement(argv=list(argv), returncode=proc.returncode, wall_s=wall,
                           peak_rss_mb=usage.ru_maxrss * 1024 / _MB, peak_tree_mb=sampler.peak / _MB,
                           user_s=usage.ru_utime, sys_s=usage.ru_stime,
                           stdout=out.read().decode("utf-8", "replace"), stderr=err.read().decode("utf-8", "replace"))
