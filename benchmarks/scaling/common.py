"""Shared helpers of the scaling benchmarks: child processes, peak memory, machine facts, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"


def parse_size(text: str) -> int:
    """``10k`` -> 10_000, ``1M`` -> 1_000_000, ``250000`` -> 250_000."""
    text = text.strip()
    scale = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def label(n: int) -> str:
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def peak_rss_mb() -> float:
    """This process's peak resident set size (MB), as the kernel counts it."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                   if x.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    return {"cores": len(os.sched_getaffinity(0)), "cpu": model, "mem_gb": round(mem / 2**20, 1),
            "load_avg": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version()}


def run_child(script: Path, args: list[str], timeout: float | None = None) -> dict:
    """Run ``script`` with ``args`` in a fresh interpreter; its last stdout line is a JSON result."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1], "args": args}
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["process_wall_s"] = round(time.perf_counter() - started, 2)
    return row


def run_case(script: Path, spec: dict, results: str) -> dict:
    """One case in its own process (``script --child SPEC``): its row, with the machine's facts, appended to
    ``results/<results>.jsonl``."""
    row = run_child(script, ["--child", json.dumps(spec)])
    row["machine"] = machine()
    append(RESULTS / f"{results}.jsonl", row)
    return row


def append(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def markdown(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    out = ["| " + " | ".join(title for _, title in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        out.append("| " + " | ".join(_fmt(row.get(key)) for key, _ in columns) + " |")
    return "\n".join(out)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
