"""Shared helpers for benchmarks: machine description, table printing, JSON output."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(os.environ.get("RANKER_BENCH_DIR", "benchmarks/results"))


def machine() -> dict[str, Any]:
    """A short description of the machine the benchmark ran on."""
    import numpy as np

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Print rows as an aligned Markdown table and return the text."""
    if not rows:
        print("(no rows)")
        return ""
    cols = list(columns or rows[0].keys())

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
                return f"{v:.3e}"
            return f"{v:.4g}"
        return "-" if v is None else str(v)

    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    text = "\n".join(lines)
    print(text)
    return text


def write_json(name: str, payload: dict[str, Any], path: str | None = None) -> Path:
    """Write ``payload`` (plus machine info) as JSON to ``benchmarks/results/NAME.json``."""
    out = Path(path) if path else RESULTS_DIR / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    body = {"benchmark": name, "machine": machine(), **payload}
    out.write_text(json.dumps(body, indent=2, default=float) + "\n")
    print(f"\nwrote {out}")
    return out
