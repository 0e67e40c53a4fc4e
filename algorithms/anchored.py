"""Bradley-Terry scores of a few votes, anchored to known scores: a MAP fit with a Gaussian
prior centred on someone else's scores (e.g. one participant's answers, shrunk towards the
crowd's ranking).

The prior of item ``i`` is ``N(prior_mean_i, prior_var_i)``; the votes are Bradley-Terry
(a tie counts half a win each way). Items no vote touches keep their prior mean exactly, so
the fit is a small Newton solve over the items the votes touch, whatever the number of items.
:func:`predictive_prob` is the matching read of "how likely is someone to prefer ``i``".
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.special
from numpy.typing import ArrayLike

from algorithms.base import FloatArray

__all__ = ["Anchored", "anchored_fit", "predictive_prob"]

_MAX_ITER = 50
_TOL = 1e-10


class Anchored(NamedTuple):
    """The result of :func:`anchored_fit`, per item."""

    mean: FloatArray
    """MAP scores (the prior mean where no vote touches the item)."""
    var: FloatArray
    """Laplace posterior variance (diagonal of the inverse Hessian)."""
    share: FloatArray
    """Share of each item's precision that comes from the votes, in ``[0, 1)``: the Fisher
    information of the votes at the fit over itself plus the prior precision (0: the prior
    alone)."""


def anchored_fit(
    left: ArrayLike,
    right: ArrayLike,
    outcome: ArrayLike,
    prior_mean: ArrayLike,
    prior_var: ArrayLike,
) -> Anchored:
    """MAP Bradley-Terry scores of the votes under independent priors ``N(prior_mean,
    prior_var)``.

    Parameters
    ----------
    left, right
        Item indices of each vote.
    outcome
        ``1`` left won, ``0`` right won, ``0.5`` a tie.
    prior_mean, prior_var
        Per-item prior mean and variance (``> 0``, finite).

    Examples
    --------
    Three wins of item 2 over item 0 pull them apart from a prior that had them equal:

    >>> fit = anchored_fit([2, 2, 2], [0, 0, 0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0] * 3)
    >>> bool(fit.mean[2] > 0 > fit.mean[0]), float(fit.mean[1]), float(fit.share[1])
    (True, 0.0, 0.0)
    """
    li = np.asarray(left, dtype=np.int64).ravel()
    ri = np.asarray(right, dtype=np.int64).ravel()
    y = np.asarray(outcome, dtype=np.float64).ravel()
    m0 = np.asarray(prior_mean, dtype=np.float64).ravel()
    v0 = np.asarray(prior_var, dtype=np.float64).ravel()
    n = m0.shape[0]
    if v0.shape != (n,) or not (np.all(np.isfinite(v0)) and np.all(v0 > 0)):
        raise ValueError("prior_var must hold one finite number > 0 per item")
    if not np.all(np.isfinite(m0)):
        raise ValueError("prior_mean must be finite")
    if not (li.shape == ri.shape == y.shape):
        raise ValueError("left, right and outcome must have the same length")
    if li.size and (min(li.min(), ri.min()) < 0 or max(li.max(), ri.max()) >= n):
        raise ValueError(f"item indices must be in [0, {n})")
    if np.any((y < 0) | (y > 1)):
        raise ValueError("outcome must be in [0, 1]")
    mean, var, info = m0.copy(), v0.copy(), np.zeros(n)
    if li.size == 0:
        return Anchored(mean, var, info)
    touched, inv = np.unique(np.concatenate([li, ri]), return_inverse=True)
    k = touched.shape[0]
    a, b = inv[: li.size], inv[li.size :]
    prec = 1.0 / v0[touched]
    x = m0[touched].copy()

    def newton(x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The gradient and the Hessian of the negative log posterior at ``x``."""
        p = scipy.special.expit(x[a] - x[b])
        r, w = y - p, p * (1.0 - p)
        grad = np.bincount(a, r, k) - np.bincount(b, r, k) - prec * (x - m0[touched])
        hess = np.diag(prec + np.bincount(a, w, k) + np.bincount(b, w, k))
        np.add.at(hess, (a, b), -w)
        np.add.at(hess, (b, a), -w)
        return grad, hess

    for _ in range(_MAX_ITER):  # the log posterior is concave: Newton converges fast
        grad, hess = newton(x)
        step = np.linalg.solve(hess, grad)
        x += step
        if float(np.max(np.abs(step))) < _TOL:
            break
    hess = newton(x)[1]
    votes_info = np.diag(hess) - prec
    mean[touched] = x
    var[touched] = np.diag(np.linalg.inv(hess))
    info[touched] = votes_info / (votes_info + prec)
    return Anchored(mean, var, info)


def predictive_prob(diff: ArrayLike, var: ArrayLike) -> FloatArray:
    """``P(i beats j)`` for a score difference ``diff`` known up to variance ``var``: the
    logistic averaged over the normal posterior (probit approximation, MacKay 1992), which
    pulls an uncertain preference towards 50/50.

    >>> round(float(predictive_prob(1.0, 0.0)), 4), round(float(predictive_prob(1.0, 4.0)), 2)
    (0.7311, 0.65)
    """
    d = np.asarray(diff, dtype=np.float64)
    v = np.maximum(np.asarray(var, dtype=np.float64), 0.0)
    return np.asarray(scipy.special.expit(d / np.sqrt(1.0 + math.pi * v / 8.0)), dtype=np.float64)
