"""Memory per stored answer of one worker's projection, and where the bytes go.

``python -m benchmarks.memory [--sizes 10000 100000 300000] [--ideas 100 1000] [--quick]``

Each worker holds every survey's whole :class:`ranker.projection.Projection` in memory. This
feeds one projection ``N`` answers (``VoteCast``/``VoteSkipped`` events encoded and decoded as the
log does, so every field is a fresh object as in a serving worker; 20 answers per voter, 5%
skips, 3% ties, uniform random pairs) with the ``bt`` model, with and without the default
sampler (``adaptive``), each configuration in a fresh child process:

1. **RSS**: ``VmRSS`` from ``/proc/self/status`` after ``gc.collect()``, before the first answer
   (after a throwaway warm-up survey took every code path once, so lazy imports and compiled
   kernels are in the baseline) and after the ``N``-th; then again after one pick and one
   ranking (what a serving worker does next: ``bt`` fits lazily on the first read).
   Reported as bytes per answer: ``(RSS_N - RSS_0) / N`` and the marginal slope between sizes.
2. **tracemalloc** (a second child, so tracing costs do not show in RSS; the largest size of
   each configuration only, tracing is slow): traced heap growth per answer and the allocation
   sites that hold it (``file:line``).
3. **Components**: the deep size of each part of the projection (objects reached only from it,
   each counted once, pymalloc's 16-byte rounding applied): the ``VoteRow`` objects with the
   int/float objects only they hold, the ``votes`` list, the ``by_seq`` dict, the voters (ids,
   ``VoterInfo``, answer lists), the model, the sampler, the rest.
4. **Cheaper layouts**, built from the same data and measured the same way: ``VoteRow`` with
   ``gc=False``; the rows as numpy columns; ``by_seq`` replaced by a binary search over the seq
   column; voters' answer lists derived from the voter column; the sampler's seen pairs as
   ints instead of tuples, or per-voter int arrays; the model's vote buffers as int32/float32.

Writes ``benchmarks/results/memory.json``.
"""

from __future__ import annotations

import argparse
import array
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
import types
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np

from benchmarks._common import print_table, write_json

ANSWERS_PER_VOTER = 20
SKIP_RATE = 0.05
TIE_RATE = 0.03
CHUNK = 10_000


# -- measuring ------------------------------------------------------------------------
def rss_bytes() -> int:
    """Resident set size of this process (``VmRSS``), in bytes, after a full collection."""
    gc.collect()
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


_SMALL_INTS = range(-5, 257)
_LEAVES = (str, bytes, int, float, bool, complex, type(None), memoryview, array.array)
_CODE = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType)


def _alloc(size: int) -> int:
    """What an object of ``size`` bytes occupies: pymalloc serves <= 512 B in 16 B classes."""
    return (size + 15) // 16 * 16 if size <= 512 else size


def deep_size(root: Any, seen: set[int]) -> int:
    """Bytes of ``root`` and everything reachable from it not already in ``seen`` (ids).

    Shared singletons (small ints, ``None``, booleans), types, modules and functions are
    not counted. A numpy array counts its data when it owns it (``sys.getsizeof``).
    """
    total = 0
    stack = [root]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        if o is None or o is True or o is False:
            continue
        if type(o) is int and o in _SMALL_INTS:
            continue
        if isinstance(o, _CODE):
            continue
        seen.add(id(o))
        total += _alloc(sys.getsizeof(o))
        if isinstance(o, _LEAVES):
            continue
        if isinstance(o, np.ndarray):
            if o.base is not None:
                stack.append(o.base)
        elif isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple | set | frozenset):
            stack.extend(o)
        elif isinstance(o, msgspec.Struct):
            stack.extend(getattr(o, f) for f in o.__struct_fields__)
        elif isinstance(o, np.random.Generator | np.random.BitGenerator):
            continue
        else:
            if hasattr(o, "__dict__"):
                stack.append(vars(o))
            for cls in type(o).__mro__:
                for slot in getattr(cls, "__slots__", ()):
                    if hasattr(o, slot):
                        stack.append(getattr(o, slot))
    return total


# -- the workload ---------------------------------------------------------------------
def _survey_events(model: str, ideas: int) -> list[Any]:
    from ranker import events as ev
    from ranker.domain import Survey

    survey = Survey(id="mem", owner="o", question="Memory?", model=model, status="open")
    out: list[Any] = [ev.SurveyCreated(ts=0.0, survey=survey)]
    out += [ev.IdeaAdded(ts=0.0, text=f"idea number {i}") for i in range(ideas)]
    return out


def answers(n: int, ideas: int, seed: int, start_seq: int) -> Iterator[tuple[int, bytes]]:
    """``n`` answer events as the log holds them (encoded), generated in chunks so the
    workload itself is not resident when memory is measured.

    Voters answer in turn (answer ``i`` is voter ``i % voters``'s ``i // voters``-th), each on
    distinct pairs, as the sampler gives them: voter ``v`` compares idea ``a_v + k`` with idea
    ``a_v + k + d_v`` (mod ``ideas``; ``d_v != ideas / 2``, so no pair comes back reversed).
    """
    from ranker import events as ev

    rng = np.random.default_rng(seed)
    voters = max(1, n // ANSWERS_PER_VOTER)
    ids = [f"v{rng.integers(2**62):016x}" for _ in range(voters)]
    start = rng.integers(ideas, size=voters)
    step = rng.integers(1, ideas, size=voters)
    if ideas % 2 == 0:
        step[step == ideas // 2] += 1
    seq = start_seq
    for lo in range(0, n, CHUNK):
        k = min(CHUNK, n - lo)
        u = rng.random(k)
        for t in range(k):
            i = lo + t
            v, nth = i % voters, i // voters
            left = int((start[v] + nth) % ideas)
            common: dict[str, Any] = {
                "ts": 1_800_000_000.0 + i * 0.37,
                "ballot": f"b{i:012d}",
                "voter": ids[v],
                "left": left,
                "right": int((left + step[v]) % ideas),
                "response_ms": 900 + i % 4000,
            }
            event: Any
            if u[t] < SKIP_RATE:
                event = ev.VoteSkipped(**common)
            else:
                tie = u[t] < SKIP_RATE + TIE_RATE
                outcome: Any = "tie" if tie else ("left" if u[t] < 0.6 else "right")
                event = ev.VoteCast(outcome=outcome, **common)
            seq += 1
            yield seq, ev.encode(event)


def build(model: str, sampler: str | None, ideas: int, n: int, seed: int) -> Any:
    """A projection of a survey with ``ideas`` ideas and ``n`` answers."""
    from ranker import events as ev
    from ranker.projection import Projection
    from ranker.sampling import default_sampler_factory

    factory = default_sampler_factory(seed) if sampler else None
    proj = Projection("mem", sampler_factory=factory)
    for seq, e in enumerate(_survey_events(model, ideas), start=1):
        proj.apply(seq, e)
    if sampler and proj.survey is not None and proj.survey.sampler != sampler:
        proj.survey = msgspec.structs.replace(proj.survey, sampler=sampler)
        proj.sampler = proj._new_sampler()
    for seq, raw in answers(n, ideas, seed, proj.seq):
        proj.apply(seq, ev.decode(raw))
    return proj


def serve_once(proj: Any) -> None:
    """One pick and one ranking, as a serving worker does between answers."""
    if proj.sampler is not None:
        proj.pick("reader")
    proj.model.scores()


def warm_up(model: str, sampler: str | None, ideas: int) -> None:
    proj = build(model, sampler, ideas, 2_000, seed=99)
    serve_once(proj)
    del proj


# -- components and alternatives ----------------------------------------------------------
def components(proj: Any) -> dict[str, int]:
    """Deep size of each part of the projection; each object is counted once, in the first
    part (in this order) that reaches it."""
    seen: set[int] = set()
    out = {"VoteRow objects (+ their seq, ts, ...)": sum(deep_size(r, seen) for r in proj.votes)}
    out["votes list"] = deep_size(proj.votes, seen)
    out["by_seq dict"] = deep_size(getattr(proj, "by_seq", {}), seen)
    out["voters' answer lists"] = sum(deep_size(v.answers, seen) for v in proj.voters.values())
    out["voters (ids, VoterInfo)"] = deep_size(proj.voters, seen)
    model = proj.model
    bufs = [getattr(model, a) for a in ("_left", "_right", "_out") if hasattr(model, a)]
    out["model vote buffers"] = sum(deep_size(b, seen) for b in bufs)
    out["model, the rest"] = deep_size(model, seen)
    sampler = proj.sampler
    out["sampler seen pairs"] = deep_size(getattr(sampler, "seen", {}), seen)
    out["sampler, the rest"] = deep_size(sampler, seen) if sampler is not None else 0
    n = max(1, len(proj.votes))
    other = 0
    for name, value in vars(proj).items():  # what else the projection holds, by attribute
        size = deep_size(value, seen)
        if size >= n:  # >= 1 B per answer: worth its own line
            out[f"projection.{name}"] = size
        else:
            other += size
    out["other projection state"] = other
    return out


def _no_gc_twin(cls: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """``cls`` (an array-like Struct of scalars, as ``VoteRow``) again, with ``gc=False``: its
    fields can hold no reference cycle, so the 16-byte GC header buys nothing."""
    fields = [
        (f.name, f.type) if f.required else (f.name, f.type, f.default)
        for f in msgspec.structs.fields(cls)
    ]
    return msgspec.defstruct(f"{cls.__name__}NoGC", fields, array_like=True, gc=False)


def _column(name: str, values: list[Any]) -> np.ndarray[Any, Any]:
    """The narrowest plain dtype for one field of the rows (``None`` -> NaN)."""
    if all(type(v) is bool for v in values):
        return np.array(values, dtype=np.bool_)
    if all(type(v) is int for v in values):
        small = name != "seq" and (not values or max(values) < 2**31)
        return np.array(values, dtype=np.int32 if small else np.int64)
    floats = [np.nan if v is None else float(v) for v in values]
    return np.array(floats, dtype=np.float32 if name == "y" else np.float64)


def alternatives(proj: Any) -> dict[str, dict[str, int]]:
    """``{change: {"now": bytes, "then": bytes}}`` for cheaper layouts of the same data."""
    rows = proj.votes
    n = len(rows)
    out: dict[str, dict[str, int]] = {}
    if not rows:
        return out

    seen: set[int] = set()
    now_rows = sum(deep_size(r, seen) for r in rows)
    twin = _no_gc_twin(type(rows[0]))
    alt = [twin(*msgspec.structs.astuple(r)) for r in rows]
    s2: set[int] = set()
    out["VoteRow gc=False"] = {"now": now_rows, "then": sum(deep_size(r, s2) for r in alt)}
    del alt

    cap = 1 << max(4, (n - 1).bit_length())  # a doubling buffer, as the model's
    names = [f.name for f in msgspec.structs.fields(type(rows[0]))]
    cols = {name: _column(name, [getattr(r, name) for r in rows]) for name in names}
    per_row = sum(c.itemsize for c in cols.values())
    by_seq = getattr(proj, "by_seq", {})
    s3: set[int] = set(id(r) for r in rows) | {id(r.seq) for r in rows}
    by_seq_size = deep_size(by_seq, s3)
    lists = sum(_alloc(sys.getsizeof(v.answers)) for v in proj.voters.values())
    list_ptrs = _alloc(sys.getsizeof(rows))
    out["rows as numpy columns (worst case: just doubled)"] = {
        "now": now_rows + list_ptrs,
        "then": per_row * cap,
    }
    out["rows as numpy columns (filled)"] = {"now": now_rows + list_ptrs, "then": per_row * n}
    out["by_seq dict -> searchsorted on the seq column"] = {"now": by_seq_size, "then": 0}
    out["voters' answer lists -> voter column"] = {"now": lists, "then": 0}

    sampler = proj.sampler
    if sampler is not None and hasattr(sampler, "seen"):
        s4: set[int] = set()
        now_seen = deep_size(sampler.seen, s4)
        width = max(1, len(proj.ideas))
        as_ints = {v: {i * width + j for i, j in pairs} for v, pairs in sampler.seen.items()}
        s5: set[int] = set()
        out["sampler seen: set of tuples -> set of ints"] = {
            "now": now_seen,
            "then": deep_size(as_ints, s5),
        }
        as_arrays = {
            v: np.array(sorted(i * width + j for i, j in pairs), dtype=np.int32)
            for v, pairs in sampler.seen.items()
        }
        s6: set[int] = set()
        out["sampler seen: per-voter sorted int32 array"] = {
            "now": now_seen,
            "then": deep_size(as_arrays, s6),
        }

    model = proj.model
    bufs: list[Any] = [getattr(model, a, None) for a in ("_left", "_right", "_out")]
    if all(isinstance(b, np.ndarray) for b in bufs):
        now_b = sum(int(b.nbytes) for b in bufs)
        out["model vote buffers int64/float64 -> int32/int32/float32"] = {
            "now": now_b,
            "then": now_b // 2,
        }
    return out


# -- one configuration, in a child process --------------------------------------------------
def child(cfg: dict[str, Any]) -> dict[str, Any]:
    model, sampler, ideas, n, mode = (
        cfg["model"],
        cfg["sampler"],
        cfg["ideas"],
        cfg["n"],
        cfg["mode"],
    )
    warm_up(model, sampler, ideas)
    out: dict[str, Any] = {**cfg}
    if mode == "tracemalloc":
        tracemalloc.start(1)
        gc.collect()
        t0 = tracemalloc.get_traced_memory()[0]
        proj = build(model, sampler, ideas, n, seed=cfg["seed"])
        gc.collect()
        out["traced_bytes"] = tracemalloc.get_traced_memory()[0] - t0
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        sites = []
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
        for stat in snap.statistics("lineno")[:8]:
            frame = stat.traceback[0]
            sites.append(
                {
                    "site": f"{frame.filename.replace(root, '')}:{frame.lineno}",
                    "bytes": stat.size,
                    "blocks": stat.count,
                }
            )
        out["sites"] = sites
        tracemalloc.stop()
        del proj
        return out
    r0 = rss_bytes()
    t = time.perf_counter()
    proj = build(model, sampler, ideas, n, seed=cfg["seed"])
    out["apply_s"] = time.perf_counter() - t
    out["rss_bytes"] = rss_bytes() - r0
    serve_once(proj)
    out["rss_serving_bytes"] = rss_bytes() - r0
    out["n_voters"] = len(proj.voters)
    out["components"] = components(proj)
    out["alternatives"] = alternatives(proj)
    return out


def run_child(cfg: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--child", json.dumps(cfg)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {cfg} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- the report ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    ap.add_argument("--ideas", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--model", default="bt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="10k and 50k answers, 100 ideas")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help="JSON path (default benchmarks/results/)")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child)), default=float))
        return
    sizes = [10_000, 50_000] if args.quick else args.sizes
    ideas_list = [100] if args.quick else args.ideas
    runs: list[dict[str, Any]] = []
    for ideas in ideas_list:
        for sampler in ("adaptive", None):
            for n in sizes:
                cfg = {"model": args.model, "sampler": sampler, "ideas": ideas, "n": n}
                cfg["seed"] = args.seed
                rss = run_child({**cfg, "mode": "rss"})
                if n == max(sizes):  # tracing is slow: the largest run of each configuration
                    traced = run_child({**cfg, "mode": "tracemalloc"})
                    rss["traced_bytes"] = traced["traced_bytes"]
                    rss["sites"] = traced["sites"]
                runs.append(rss)
                print(
                    f"{ideas} ideas, sampler {sampler}, {n} answers: "
                    f"{rss['rss_bytes'] / n:.0f} B/answer RSS",
                    file=sys.stderr,
                )
    report(runs)
    config = {k: v for k, v in vars(args).items() if k not in ("child", "out")}
    write_json("memory", {"config": config | {"sizes": sizes}, "runs": runs}, args.out)


def _label(r: dict[str, Any]) -> str:
    return f"{r['model']}+{r['sampler'] or 'no sampler'}, {r['ideas']} ideas"


def report(runs: list[dict[str, Any]]) -> None:
    print("\n## Bytes per stored answer (one projection, after gc)\n")
    rows = []
    prev: dict[str, dict[str, Any]] = {}
    for r in runs:
        n = r["n"]
        key = _label(r)
        p = prev.get(key)
        slope = None
        if p is not None:
            slope = (r["rss_serving_bytes"] - p["rss_serving_bytes"]) / (n - p["n"])
        prev[key] = r
        comp = r["components"]
        rows.append(
            {
                "config": key,
                "answers": n,
                "RSS B/ans": r["rss_bytes"] / n,
                "RSS serving B/ans": r["rss_serving_bytes"] / n,
                "marginal B/ans": slope,
                "traced B/ans": r["traced_bytes"] / n if "traced_bytes" in r else None,
                "components B/ans": sum(comp.values()) / n,
                "apply s": r["apply_s"],
            }
        )
    print_table(rows)

    largest = {}
    for r in runs:
        largest[_label(r)] = r
    print("\n## Where the bytes go (largest run of each configuration), B per answer\n")
    names = list(dict.fromkeys(k for r in largest.values() for k in r["components"]))
    rows = []
    for name in names:
        row: dict[str, Any] = {"component": name}
        for key, r in largest.items():
            row[key] = r["components"].get(name, 0) / r["n"]
        rows.append(row)
    rows.append(
        {"component": "sum"}
        | {key: sum(r["components"].values()) / r["n"] for key, r in largest.items()}
    )
    print_table(rows)

    print("\n## Top allocation sites (tracemalloc), B per answer\n")
    for key, r in largest.items():
        print(f"{key}, {r['n']} answers:")
        print_table([{"site": s["site"], "B/ans": s["bytes"] / r["n"]} for s in r["sites"][:6]])
        print()

    print("## Cheaper layouts of the same data (largest runs), B per answer\n")
    rows = []
    for key, r in largest.items():
        for change, v in r["alternatives"].items():
            rows.append(
                {
                    "config": key,
                    "change": change,
                    "now": v["now"] / r["n"],
                    "then": v["then"] / r["n"],
                    "saves": (v["now"] - v["then"]) / r["n"],
                }
            )
    print_table(rows)


if __name__ == "__main__":
    main()
