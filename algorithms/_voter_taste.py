"""Voter taste for ``crowd-bt`` (:mod:`algorithms.crowd_bt`): each voter's own deviations from
the crowd's scores, shrunk towards them, with the spread learnt from the votes.

Voter ``k`` compares ``t_{k,i} = u_i + x_{k,i}`` with ``t_{k,j}``: ``u ~ N(0, 1/lam)`` are the
scores of a typical voter and ``x_{k,i} ~ N(0, sigma^2)`` voter ``k``'s taste for item ``i``. A
voter score ``t_{k,i}`` is a parameter (a *node*) only for an item the voter has compared;
elsewhere ``x = 0``. Given ``sigma`` all of ``u`` and ``t`` are the MAP of

``Σ_votes w_v log P(y_v | t_{k,i} - t_{k,j} + h)
- lam |u|² / 2 - Σ_nodes (t - u_item)² / (2 sigma²)``

(``w_v`` the vote's weight, the probability that it was answered by the model rather than at
random; ``h`` and the tie parameter are the crowd fit's), by Newton's method with a sparse LU.
``u`` is fitted jointly, not taken from the pooled fit: when voters differ, the pooled scores
are flattened (the marginal effect of a random-effects logit), and a typical voter's scores
are further apart.

Whether voters have tastes at all is a Bayes factor: the Laplace evidence integrated over a
half-normal prior of ``sigma`` (scale 1 logit) against the evidence without tastes. Only when
the votes favour tastes is ``sigma`` fitted, as the posterior mode (a grid, then bounded search
in ``log sigma``); otherwise there are none and every voter is predicted as the crowd, so the
model costs nothing on a crowd that agrees. A voter with few answers stays close to the typical
voter. An unknown voter is predicted with the pooled (marginal) scores.

Why it matters: on real panels each voter is far more consistent with themselves than with the
crowd (complete personal rankings, personal taste in images or sounds), and a model that knows
the voter predicts their next answer much better (``docs/models.md``, Crowd-BT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import scipy.optimize
import scipy.sparse
import scipy.sparse.linalg
import scipy.special

from algorithms._bt_fit import edge_step, newton
from algorithms._crowd_em import e_step, log_prior_params
from algorithms.base import FloatArray, IntArray

if TYPE_CHECKING:
    from algorithms.crowd_bt import CrowdBT

__all__ = ["SPREAD_GRID", "Taste", "alternate", "fit_taste", "no_taste"]

#: Rounds of (voter taste, careless-answer E-step, crowd MAP) per refit, and the largest
#: change of a vote's weight at which they stop early.
TASTE_ROUNDS = 3
TASTE_TOL = 1e-4
#: The taste spread is searched again once the votes have grown by this share.
TASTE_REESTIMATE = 0.1
#: Tastes are fitted while the votes touch at most this many (voter, item) pairs: at that size
#: (200 items, 300 voters x 40 answers) a cold fit with the search took 2.9 s and a refit 0.2 s
#: on this project's 2-core machine; the cost grows much faster than the pairs. Panels,
#: where tastes show (a few dozen voters answering many pairs each), are far below it; a large
#: open survey (many voters, a few answers each over many items) is above it and would learn
#: little about each voter's taste anyway, so there ``crowd-bt`` models carelessness only.
TASTE_MAX_NODES = 20_000

#: Spreads ``sigma`` tried by the search (then refined between the best point's neighbours).
SPREAD_GRID: tuple[float, ...] = tuple(float(v) for v in np.geomspace(0.02, 4.0, 9))
#: Scale of the half-normal prior of ``sigma`` (logits: a taste of one unit is a large one).
PRIOR_SCALE = 1.0
#: ``sigma`` standing in for "no tastes" in the evidence (the limit is reached well above 0).
_SIGMA_NONE = 1e-3
#: Node key: ``voter code * _STRIDE + item`` (item indices stay below 2**31).
_STRIDE = np.int64(1) << 31
_LOG_SIGMA_TOL = 0.05


@dataclass(frozen=True)
class Taste:
    """A fitted taste model: the typical voter's scores ``u`` and one score per (voter code,
    item) node, the nodes sorted by key."""

    sigma: float
    u: FloatArray
    key: IntArray  # voter code * 2**31 + item, ascending
    t: FloatArray

    @cached_property
    def voters(self) -> IntArray:
        """The voter codes with at least one node, ascending."""
        return np.asarray(np.unique(self.key // _STRIDE), dtype=np.int64)

    def difference(
        self, codes: IntArray, left: IntArray, right: IntArray, pooled: FloatArray
    ) -> FloatArray:
        """``t_{k,left} - t_{k,right}`` per vote; for anonymous or unknown voters (no node
        at all) the ``pooled`` difference."""
        known = np.zeros(codes.shape[0], dtype=np.bool_)
        tl, hit_l = self._lookup(codes, left)
        tr, hit_r = self._lookup(codes, right)
        voters = self.voters
        if voters.size:
            pos = np.minimum(np.searchsorted(voters, codes), voters.size - 1)
            known = (voters[pos] == codes) & (codes >= 0)
        n = self.u.shape[0]
        ok = known & (left < n) & (right < n)
        ul = np.where(hit_l, tl, self.u[np.minimum(left, n - 1)] if n else 0.0)
        ur = np.where(hit_r, tr, self.u[np.minimum(right, n - 1)] if n else 0.0)
        return np.asarray(np.where(ok, ul - ur, pooled[left] - pooled[right]), dtype=np.float64)

    def _lookup(self, codes: IntArray, items: IntArray) -> tuple[FloatArray, np.ndarray]:
        out = np.zeros(codes.shape[0])
        if self.key.size == 0 or codes.size == 0:
            return out, np.zeros(codes.shape[0], dtype=np.bool_)
        want = codes.astype(np.int64) * _STRIDE + items.astype(np.int64)
        pos = np.minimum(np.searchsorted(self.key, want), self.key.size - 1)
        hit = (self.key[pos] == want) & (codes >= 0)
        out[hit] = self.t[pos[hit]]
        return out, hit

    def scores_of(self, code: int, pooled: FloatArray) -> FloatArray:
        """All item scores as voter ``code`` sees them (``pooled`` for an unknown voter)."""
        n = pooled.shape[0]
        items = np.arange(n, dtype=np.int64)
        codes = np.full(n, code, dtype=np.int64)
        voters = self.voters
        pos = int(np.searchsorted(voters, code))
        if code < 0 or pos == voters.size or voters[pos] != code:
            return pooled.copy()
        t, hit = self._lookup(codes, items)
        u = np.zeros(n)
        u[: self.u.shape[0]] = self.u[:n]
        return np.asarray(np.where(hit, t, u), dtype=np.float64)


def no_taste() -> Taste:
    """No voter tastes (every voter answers with the pooled scores)."""
    return Taste(0.0, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0))


@dataclass(frozen=True)
class _Problem:
    n: int  # items
    ea: IntArray  # parameter compared on the left, per vote (an item or a node)
    eb: IntArray
    y: FloatArray
    w: FloatArray
    h: float
    tau: float
    lam: float
    key: IntArray  # node keys
    node_item: IntArray
    pairs: tuple[IntArray, IntArray]  # (row, col) of the likelihood's Hessian entries
    star: tuple[IntArray, IntArray]  # (row, col) of the taste prior's entries

    @property
    def size(self) -> int:
        return self.n + int(self.key.shape[0])


def _problem(
    codes: IntArray, left: IntArray, right: IntArray, y: FloatArray, w: FloatArray,
    n: int, h: float, tau: float, lam: float,
) -> _Problem:  # fmt: skip
    keep = w > 0.0
    codes, left, right, y, w = codes[keep], left[keep], right[keep], y[keep], w[keep]
    known = codes >= 0
    c = codes[known].astype(np.int64)
    ka, kb = c * _STRIDE + left[known], c * _STRIDE + right[known]
    key, inv = np.unique(np.concatenate([ka, kb]), return_inverse=True)
    k = ka.shape[0]
    ea, eb = left.astype(np.int64), right.astype(np.int64)
    ea[known], eb[known] = n + inv[:k], n + inv[k:]
    node = n + np.arange(key.shape[0], dtype=np.int64)
    item = key % _STRIDE
    pairs = (np.concatenate([ea, eb, ea, eb]), np.concatenate([ea, eb, eb, ea]))
    star = (np.concatenate([node, item, node, item]), np.concatenate([node, item, item, node]))
    return _Problem(n, ea, eb, y, w, h, tau, lam, key, item, pairs, star)


def _loglik(d: FloatArray, y: FloatArray, tau: float) -> FloatArray:
    """Per-vote log-likelihood at score difference ``d`` (Davidson ties when ``tau`` is
    finite; otherwise a tie counts half a win and half a loss)."""
    if not math.isfinite(tau):
        return np.asarray(-(y * np.logaddexp(0.0, -d) + (1.0 - y) * np.logaddexp(0.0, d)))
    a = 0.5 * d
    norm = np.logaddexp(np.logaddexp(a, -a), tau)
    tie = (y != 0.0) & (y != 1.0)
    return np.asarray(np.where(tie, tau, np.where(y == 1.0, a, -a)) - norm)


@dataclass
class _Fit:
    z: FloatArray
    value: float  # the negative log posterior (up to constants) at z
    logdet: float  # log det of the Hessian at z


def _newton(p: _Problem, sigma: float, z: FloatArray) -> _Fit:
    """MAP of ``z = [u, t]`` at ``sigma`` from ``z`` (convex: damped Newton, sparse LU)."""
    size, n = p.size, p.n
    lg = 1.0 / (sigma * sigma)

    def objective(v: FloatArray) -> float:
        d = v[p.ea] - v[p.eb] + p.h
        dev = v[n:] - v[p.node_item]
        u = v[:n]
        return float(-(p.w @ _loglik(d, p.y, p.tau)) + 0.5 * (p.lam * (u @ u) + lg * (dev @ dev)))

    star_vals = np.concatenate([np.full(2 * (size - n), lg), np.full(2 * (size - n), -lg)])
    prior = scipy.sparse.coo_matrix((star_vals, p.star), shape=(size, size)).tocsc()
    prior = prior + scipy.sparse.diags(np.concatenate([np.full(n, p.lam), np.zeros(size - n)]))
    f = objective(z)
    lu = None
    for _ in range(60):
        d = z[p.ea] - z[p.eb] + p.h
        g, c = edge_step(d, p.y, p.tau)
        g, c = p.w * g, p.w * c
        grad = prior @ z - np.bincount(p.ea, g, size) + np.bincount(p.eb, g, size)
        vals = np.concatenate([c, c, -c, -c])
        hess = scipy.sparse.coo_matrix((vals, p.pairs), shape=(size, size)).tocsc() + prior
        lu = scipy.sparse.linalg.splu(
            hess.tocsc(),
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
        step = lu.solve(-grad)
        t, fn, zn = 1.0, f, z
        while t > 1e-10:
            zn = z + t * step
            fn = objective(zn)
            if fn <= f + 1e-12 * abs(f):
                break
            t *= 0.5
        moved = float(np.max(np.abs(zn - z)))
        z, f = zn, fn
        if moved < 1e-7:
            break
    logdet = 0.0 if lu is None else float(np.sum(np.log(np.abs(lu.U.diagonal()))))
    return _Fit(z, f, logdet)


def _log_evidence(p: _Problem, sigma: float, fit: _Fit) -> float:
    """Laplace ``log p(votes | sigma)`` up to a constant that does not depend on ``sigma``
    (the prior's log-determinant is ``n log lam + nodes log(1 / sigma²)``)."""
    nodes = p.size - p.n
    return -fit.value - 0.5 * fit.logdet - nodes * math.log(sigma)


def _log_prior(sigma: float) -> float:
    """``log`` of the half-normal prior density of ``sigma`` (scale :data:`PRIOR_SCALE`) times
    ``sigma`` (the Jacobian of ``log sigma``, the coordinate of the search)."""
    return (
        0.5 * math.log(2.0 / math.pi)
        - math.log(PRIOR_SCALE)
        - 0.5 * (sigma / PRIOR_SCALE) ** 2
        + math.log(sigma / PRIOR_SCALE)
    )


def log_bayes_factor(log_ev: list[float], grid: tuple[float, ...], log_ev0: float) -> float:
    """``log`` of the Bayes factor of "voters have tastes, ``sigma`` half-normal" against
    "no tastes", from the log evidence on a log-spaced ``grid`` (a midpoint rule in
    ``log sigma``) and at ``sigma -> 0`` (``log_ev0``, also standing in below the grid).

    >>> g = (0.1, 1.0)
    >>> log_bayes_factor([-5.0, -5.0], g, 0.0) < 0.0 < log_bayes_factor([0.0, 9.0], g, 0.0)
    True
    """
    step = math.log(grid[1] / grid[0])
    terms = [e + _log_prior(sg) + math.log(step) for e, sg in zip(log_ev, grid, strict=True)]
    below = math.erf(grid[0] / (PRIOR_SCALE * math.sqrt(2.0)))  # P(sigma < the grid)
    terms.append(log_ev0 + math.log(below))
    return float(scipy.special.logsumexp(terms)) - log_ev0


def fit_taste(
    codes: IntArray,
    left: IntArray,
    right: IntArray,
    y: FloatArray,
    w: FloatArray,
    pooled: FloatArray,
    h: float,
    tau: float,
    lam: float,
    sigma: float | None = None,
    start: Taste | None = None,
) -> Taste:
    """Fit the voters' tastes (and the typical voter's scores) to weighted votes.

    ``codes`` is each vote's voter (``-1``: anonymous, compared on ``u``); ``w`` its weight;
    ``pooled`` the crowd's pooled scores (the start), ``h``, ``tau`` its side advantage and
    log tie parameter (``-inf``: none), ``lam`` its prior precision. With ``sigma`` given
    the tastes are fitted at it; with ``None`` it is learnt (empirical Bayes). ``start``
    warm-starts from an earlier fit.

    >>> rng = np.random.default_rng(1)
    >>> left = rng.integers(0, 6, 3000); right = (left + rng.integers(1, 6, 3000)) % 6
    >>> codes = rng.integers(0, 2, 3000)
    >>> taste = np.array([[2, 1, 0, 0, -1, -2], [-2, -1, 0, 0, 1, 2]], dtype=float)
    >>> p = 1 / (1 + np.exp(taste[codes, right] - taste[codes, left]))
    >>> y = (rng.random(3000) < p).astype(float)
    >>> t = fit_taste(codes, left, right, y, np.ones(3000), np.zeros(6), 0.0, -math.inf, 1.0)
    >>> seen = t.scores_of(0, np.zeros(6))
    >>> bool(t.sigma > 0.5), bool(seen[0] - seen[5] > 2.0)
    (True, True)
    """
    n = pooled.shape[0]
    p = _problem(codes, left, right, y, w, n, h, tau, lam)
    if p.size == n:
        return no_taste()
    z = np.concatenate([pooled, pooled[p.node_item]])
    if start is not None and start.key.size:
        t, hit = start._lookup(p.key // _STRIDE, p.node_item)
        z[n:][hit] = t[hit]
        z[: min(n, start.u.shape[0])] = start.u[:n]
    if sigma is not None:
        fit = _newton(p, float(sigma), z)
        return Taste(float(sigma), fit.z[:n].copy(), p.key, fit.z[n:].copy())
    tried: dict[float, tuple[float, _Fit]] = {}
    log_ev: list[float] = []

    def crit(sig: float) -> float:
        nonlocal z
        fit = _newton(p, sig, z)
        z = fit.z
        ev = _log_evidence(p, sig, fit)
        log_ev.append(ev)
        val = ev + _log_prior(sig)
        tried[sig] = (val, fit)
        return val

    none = _newton(p, _SIGMA_NONE, z)
    log_ev0 = _log_evidence(p, _SIGMA_NONE, none)
    grid = [crit(s) for s in SPREAD_GRID]
    if log_bayes_factor(log_ev[: len(SPREAD_GRID)], SPREAD_GRID, log_ev0) <= 0.0:
        return no_taste()  # the votes do not support tastes: every voter is the crowd
    k = int(np.argmax(grid))
    if 0 < k < len(SPREAD_GRID) - 1:
        z = tried[SPREAD_GRID[k]][1].z
        scipy.optimize.minimize_scalar(
            lambda v: -crit(math.exp(v)),
            bounds=(math.log(SPREAD_GRID[k - 1]), math.log(SPREAD_GRID[k + 1])),
            method="bounded",
            options={"xatol": _LOG_SIGMA_TOL},
        )
    best = max(tried, key=lambda s: tried[s][0])
    z = tried[best][1].z
    return Taste(best, z[:n].copy(), p.key, z[n:].copy())


def alternate(model: CrowdBT) -> bool:
    """Each voter's taste around the crowd's scores (:func:`fit_taste`) for ``crowd-bt``,
    alternated with the careless-answer E-step and the crowd's weighted MAP for up to
    :data:`TASTE_ROUNDS` rounds: a voter whose answers their own taste explains is not
    careless. The spread is searched again once the votes have grown by
    :data:`TASTE_REESTIMATE` since the last search. Returns whether the weights moved."""
    m = model._m
    if m == 0 or len(model._voter_index) < 2:
        model._taste = no_taste()
        return False
    li, ri, y, codes = model._left[:m], model._right[:m], model._out[:m], model._vcode[:m]
    due = model._taste_m_est == 0 or m >= model._taste_m_est * (1.0 + TASTE_REESTIMATE)
    if not due and model._taste.sigma <= 0.0:
        return False  # no tastes at the last search: none until the next one
    known = codes >= 0
    keys = np.concatenate([codes[known] * _STRIDE + li[known], codes[known] * _STRIDE + ri[known]])
    if np.unique(keys).shape[0] > TASTE_MAX_NODES:
        model._taste, model._taste_m_est = no_taste(), m
        return False  # too large to fit tastes affordably (see TASTE_MAX_NODES)
    sigma = None if due else model._taste.sigma
    decisive = (y == 1.0) | (y == 0.0)
    moved = False
    taste = model._taste
    for _ in range(TASTE_ROUNDS):
        taste = fit_taste(
            codes, li, ri, y, model._w[:m], model._s, model._h, model._tau, model._lam, sigma, taste
        )
        sigma = taste.sigma
        if sigma <= 0.0:
            break  # the votes do not support tastes
        d = taste.difference(codes, li, ri, model._s) + model._h
        q = np.where(y == 1.0, scipy.special.expit(d), scipy.special.expit(-d))
        start = log_prior_params(model._hyper)
        res = e_step(q, decisive, codes, len(model._voter_index), model.honest_voters, start)
        model._hyper, model._rel, model._rbar = res.prior, res.reliability, res.mean_reliability
        change = float(np.max(np.abs(res.weight - model._w[:m])))
        if change <= TASTE_TOL:
            break
        model._w[:m] = res.weight
        moved = True
        p = model._problem()
        x, _, _ = newton(p, model._full_x(p))
        model._set_x(p, x)
    model._taste = taste
    if due:
        model._taste_m_est = m
    return moved
