"""The simulation lab: ground truth, simulated voters, replay of real answers, and the
run loop that scores samplers x models x seeds against votes per item.

Pure numerics, no I/O: the ``ranker simulate`` command and ``benchmarks/`` do the
files, progress display and plots.

Votes per item is ``n_votes / n_items`` (each vote involves two items, so an item
takes part in ``2 x`` that many votes on average). Metrics are read at checkpoints
(every ``checkpoint`` votes per item), not after every vote.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, ndtr

from algorithms import metrics
from algorithms.base import FloatArray, IntArray, PairwiseModel, create_model
from algorithms.samplers import create_sampler

__all__ = [
    "GUIDES",
    "METRICS",
    "PERCENTILES",
    "TRUTHS",
    "Curve",
    "Replay",
    "SimConfig",
    "Voters",
    "make_truth",
    "metrics_at",
    "run_grid",
    "run_one",
    "votes_to_target",
]

TRUTHS = ("bt", "thurstone")
GUIDES = {"bt": "bt-online"}
"""Model whose posterior the sampler reads, when it differs from the evaluated model."""
METRICS = ("kendall_tau", "spearman", "top_k_recall", "coverage", "log_loss")
PERCENTILES = (10.0, 50.0, 90.0)
"""Percentiles over seeds that reports show: a median line and a 10-90 % band."""
LAMBDA = math.sqrt(math.pi / 8.0)


class SimConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One simulated survey.

    ``truth`` ``"bt"``: ``P(i beats j) = σ(s_i - s_j)``; ``"thurstone"``:
    ``Φ(λ (s_i - s_j))`` with ``λ² = π/8`` (same slope at 0, so scores stay on the
    log-odds scale). Scores are ``N(0, spread²)``. ``careless`` is the share of
    voters who answer at random, ``left_bias`` a log-odds bonus for the left item,
    ``arriving`` the share of items added mid-survey (between 10 % and 50 % of the
    vote budget).
    """

    n_items: int = 100
    truth: str = "bt"
    spread: float = 1.0
    careless: float = 0.0
    left_bias: float = 0.0
    arriving: float = 0.0
    n_voters: int = 50
    votes_per_item: float = 30.0
    checkpoint: float = 1.0
    top_k: int = 10
    level: float = 0.95

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        if self.n_items < 2:
            raise ValueError(f"n_items must be >= 2, got {self.n_items}")
        if self.truth not in TRUTHS:
            raise ValueError(f"truth must be one of {TRUTHS}, got {self.truth!r}")
        for name in ("careless", "arriving"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        if not (self.spread > 0 and self.votes_per_item > 0 and self.checkpoint > 0):
            raise ValueError("spread, votes_per_item and checkpoint must be > 0")
        if self.n_voters < 1 or self.top_k < 1 or not 0.0 < self.level < 1.0:
            raise ValueError("n_voters and top_k must be >= 1 and level in (0, 1)")


def make_truth(
    n: int, spread: float = 1.0, seed: int | np.random.Generator | None = None
) -> FloatArray:
    """True scores ``N(0, spread²)``, shape ``(n,)``.

    >>> make_truth(3, seed=0).shape
    (3,)
    """
    rng = np.random.default_rng(seed)
    return np.asarray(rng.normal(0.0, spread, size=n), dtype=np.float64)


class Voters:
    """Simulated voters answering from true scores.

    Voters ``0 .. round(careless * n_voters) - 1`` answer at random; the others follow
    the truth model with an optional left-side log-odds bonus.
    """

    def __init__(
        self,
        truth: FloatArray,
        kind: str = "bt",
        careless: float = 0.0,
        left_bias: float = 0.0,
        n_voters: int = 50,
    ) -> None:
        if kind not in TRUTHS:
            raise ValueError(f"truth must be one of {TRUTHS}, got {kind!r}")
        self.truth = truth
        self.kind = kind
        self.left_bias = left_bias
        self.n_voters = n_voters
        self.n_careless = round(careless * n_voters)

    def p_left(self, left: int, right: int) -> float:
        d = float(self.truth[left] - self.truth[right]) + self.left_bias
        return float(expit(d)) if self.kind == "bt" else float(ndtr(LAMBDA * d))

    def answer(self, left: int, right: int, voter: int, u: float) -> float:
        """Outcome (1 left wins, 0 right wins) given a uniform draw ``u``."""
        p = 0.5 if voter < self.n_careless else self.p_left(left, right)
        return 1.0 if u < p else 0.0

    def p_true(self, i: IntArray, j: IntArray) -> FloatArray:
        """Model-consistent ``P(i beats j)`` without side bias (for log loss)."""
        d = self.truth[i] - self.truth[j]
        return np.asarray(expit(d) if self.kind == "bt" else ndtr(LAMBDA * d), dtype=np.float64)


class Replay:
    """Answers chosen pairs by drawing recorded human answers (a complete design).

    Each unordered pair's recorded outcomes form a pool; a pick draws one without
    replacement, and the pool refills once used up. ``truth`` are reference scores
    (e.g. a Bradley-Terry fit to all answers); ``rank_truth`` optional scores whose
    order is the true ranking (e.g. ``-true_rank``) used for the rank metrics.
    """

    def __init__(
        self,
        left: IntArray,
        right: IntArray,
        outcome: FloatArray,
        n_items: int,
        truth: FloatArray,
        rank_truth: FloatArray | None = None,
    ) -> None:
        pools: dict[tuple[int, int], list[float]] = {}
        for a, b, y in zip(left.tolist(), right.tolist(), outcome.tolist(), strict=True):
            key, val = ((a, b), y) if a < b else ((b, a), 1.0 - y)
            pools.setdefault(key, []).append(val)
        missing = n_items * (n_items - 1) // 2 - len(pools)
        if missing:
            raise ValueError(
                f"replay needs a complete design: {missing} of "
                f"{n_items * (n_items - 1) // 2} pairs have no recorded answer"
            )
        self.pools = pools
        self.n_items = n_items
        self.truth = truth
        self.rank_truth = truth if rank_truth is None else rank_truth
        self._left: dict[tuple[int, int], list[float]] = {}
        ii, jj = np.triu_indices(n_items, 1)
        pairs = zip(ii.tolist(), jj.tolist(), strict=True)
        self._emp = np.array([np.mean(pools[(a, b)]) for a, b in pairs])

    def answer(self, left: int, right: int, rng: np.random.Generator) -> float:
        key = (left, right) if left < right else (right, left)
        rest = self._left.get(key)
        if not rest:
            rest = list(self.pools[key])
            self._left[key] = rest
        y = rest.pop(int(rng.integers(len(rest))))
        return y if left < right else 1.0 - y

    def empirical(self) -> FloatArray:
        """Share of recorded answers won by ``i`` for each pair ``i < j`` (triu order)."""
        return np.asarray(self._emp, dtype=np.float64)


def metrics_at(
    model: PairwiseModel,
    truth: FloatArray,
    rank_truth: FloatArray,
    p_true: FloatArray,
    k: int,
    level: float,
) -> dict[str, float]:
    """All metrics of ``model`` over its ``n`` items against the first ``n`` true scores.

    ``p_true`` holds the true ``P(i beats j)`` for ``i < j`` in ``np.triu_indices`` order.
    """
    n = model.n_items
    s = model.scores()
    rt = rank_truth[:n]
    lo, hi = model.intervals(level)
    ii, jj = np.triu_indices(n, 1)
    return {
        "kendall_tau": metrics.kendall_tau(s, rt),
        "spearman": metrics.spearman(s, rt),
        "top_k_recall": metrics.topk_recall(s, rt, min(k, n)),
        # BT scores are identified up to a shift: the truth is centred on the intervals
        "coverage": metrics.interval_coverage(lo, hi, truth[:n]),
        # expected log loss when outcomes follow p_true (soft targets)
        "log_loss": metrics.log_loss(model, ii, jj, p_true),
    }


class Curve(msgspec.Struct, kw_only=True):
    """Metrics of one run against votes per item."""

    sampler: str
    model: str
    seed: int
    votes_per_item: list[float]
    metrics: dict[str, list[float]]
    items: list[int] = msgspec.field(default_factory=list)
    """Items present at each checkpoint (grows when ideas arrive mid-survey)."""


def _p_true_triu(truth: FloatArray, kind: str, n: int) -> FloatArray:
    ii, jj = np.triu_indices(n, 1)
    d = truth[ii] - truth[jj]
    return np.asarray(expit(d) if kind == "bt" else ndtr(LAMBDA * d), dtype=np.float64)


def run_one(
    config: SimConfig,
    sampler: str,
    model: str,
    seed: int,
    *,
    truth: FloatArray | None = None,
    replay: Replay | None = None,
    sampler_params: dict[str, Any] | None = None,
    model_params: dict[str, Any] | None = None,
    stop_when: tuple[str, float] | None = None,
    guide: str | None = None,
) -> Curve:
    """Simulate one survey; returns its metric curve.

    The sampler reads the posterior of the ``guide`` model, which absorbs the same
    votes; by default :data:`GUIDES` maps ``bt`` to ``bt-online`` (as in the service:
    the batch fit's marginal variances ignore posterior correlations, so a greedy
    sampler reading them repeats the same pair) and every other model guides itself.

    The truth depends only on ``seed`` (same truth for every sampler and model of a
    seed); with ``replay`` the recorded answers are used instead of simulated voters.
    ``stop_when=(metric, target)`` ends the run at the first checkpoint that reaches
    the target (for votes-to-target measurements).
    """
    config.validate()
    n = replay.n_items if replay is not None else config.n_items
    if replay is not None:
        truth, rank_truth = replay.truth, replay.rank_truth
    elif truth is None:
        truth = make_truth(n, config.spread, seed=np.random.default_rng([seed, 0]))
        rank_truth = truth
    else:
        if truth.shape != (n,):
            raise ValueError(f"truth must have shape ({n},), got {truth.shape}")
        rank_truth = truth
    voters = Voters(truth, config.truth, config.careless, config.left_bias, config.n_voters)
    rng = np.random.default_rng([seed, 1])
    n0 = max(2, n - round(config.arriving * n))
    total = round(config.votes_per_item * n)
    arrivals = np.linspace(0.1 * total, 0.5 * total, n - n0).astype(np.int64).tolist()
    step = max(1, round(config.checkpoint * n))
    p_full = replay.empirical() if replay is not None else _p_true_triu(truth, config.truth, n)
    mdl = create_model(model, n_items=n0, **(model_params or {}))
    guide = GUIDES.get(model, model) if guide is None else guide
    gmdl = mdl if guide == model else create_model(guide, n_items=n0)
    smp = create_sampler(sampler, seed=seed, **(sampler_params or {}))
    voter_ids = rng.integers(config.n_voters, size=total).tolist()
    uniforms = rng.random(total).tolist()
    xs: list[float] = []
    present: list[int] = []
    ms: dict[str, list[float]] = {k: [] for k in METRICS}
    a = 0
    for t in range(total):
        while a < len(arrivals) and arrivals[a] <= t:
            mdl.add_items(1)
            if gmdl is not mdl:
                gmdl.add_items(1)
            a += 1
        voter = voter_ids[t]
        left, right = smp.next_pair(gmdl, voter=voter)
        if replay is not None:
            y = replay.answer(left, right, rng)
        else:
            y = voters.answer(left, right, voter, uniforms[t])
        mdl.update(left, right, y, voter=voter)
        if gmdl is not mdl:
            gmdl.update(left, right, y, voter=voter)
        smp.observe(left, right, y, voter=voter)
        if (t + 1) % step == 0 or t + 1 == total:
            m = mdl.n_items
            p_true = p_full if m == n else _p_true_triu(truth, config.truth, m)
            for k, v in metrics_at(
                mdl, truth, rank_truth, p_true, config.top_k, config.level
            ).items():
                ms[k].append(v)
            xs.append((t + 1) / n)
            present.append(m)
            if stop_when is not None and _reached(ms[stop_when[0]][-1], *stop_when):
                break
    return Curve(
        sampler=sampler, model=model, seed=seed, votes_per_item=xs, metrics=ms, items=present
    )


def _reached(value: float, metric: str, target: float) -> bool:
    return value <= target if metric == "log_loss" else value >= target


def run_grid(
    config: SimConfig,
    samplers: Sequence[str],
    models: Sequence[str],
    seeds: Sequence[int],
    *,
    truth: FloatArray | None = None,
    replay: Replay | None = None,
    sampler_params: dict[str, dict[str, Any]] | None = None,
    model_params: dict[str, dict[str, Any]] | None = None,
    stop_when: tuple[str, float] | None = None,
    guide: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Curve]:
    """Every sampler x model x seed; ``progress(done, total, label)`` after each run."""
    jobs = [(s, m, seed) for seed in seeds for m in models for s in samplers]
    out = []
    for k, (s, m, seed) in enumerate(jobs):
        out.append(
            run_one(
                config,
                s,
                m,
                seed,
                truth=truth,
                replay=replay,
                sampler_params=(sampler_params or {}).get(s),
                model_params=(model_params or {}).get(m),
                stop_when=stop_when,
                guide=guide,
            )
        )
        if progress is not None:
            progress(k + 1, len(jobs), f"{s}/{m}/seed {seed}")
    return out


def votes_to_target(curve: Curve, metric: str, target: float) -> float:
    """Votes per item at which ``metric`` first reaches ``target`` (linear interpolation
    between checkpoints; ``inf`` when never reached; lower is better for ``log_loss``)."""
    xs = curve.votes_per_item
    ys = curve.metrics[metric]
    sign = -1.0 if metric == "log_loss" else 1.0
    prev_x, prev_y = 0.0, None
    for x, y in zip(xs, ys, strict=True):
        if sign * y >= sign * target:
            if prev_y is None or sign * prev_y >= sign * target:
                return x
            frac = (target - prev_y) / (y - prev_y)
            return prev_x + frac * (x - prev_x)
        prev_x, prev_y = x, y
    return math.inf


def band(curves: Sequence[Curve], metric: str) -> tuple[list[float], NDArray[np.float64]]:
    """Checkpoints and the ``(3, k)`` array of the :data:`PERCENTILES` (10th, 50th, 90th)
    over ``curves``, up to the shortest curve's last checkpoint."""
    k = min(len(c.votes_per_item) for c in curves)
    ys = np.array([c.metrics[metric][:k] for c in curves])
    return curves[0].votes_per_item[:k], np.percentile(ys, PERCENTILES, axis=0)
