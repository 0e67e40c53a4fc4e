"""``crowd-bt``: Bradley-Terry with a reliability per voter (Chen et al., WSDM 2013).

Voter ``k`` reports the true order with probability ``η_k`` and the reverse
otherwise: ``P(k says i beats j) = η_k σ(s_i - s_j) + (1 - η_k) σ(s_j - s_i)``,
with ``s_i ~ N(μ_i, v_i)`` and ``η_k ~ Beta(α_k, β_k)``.

* Online (:meth:`CrowdBT.update`): the paper's per-vote moment matching, as in
  Gavel: the item means move by ``v · ∂ log P / ∂μ`` and the variances are scaled
  by ``max(1 + v · ∂² log P / ∂μ², κ)`` with ``η`` integrated out under the
  voter's Beta; then the voter's Beta is moment-matched to its posterior.
* Batch (:meth:`CrowdBT.fit`): the joint MAP of the scores and the voters'
  reliabilities, i.e. the fixed point of EM over the latent "this vote follows
  the truth" indicators, found by L-BFGS on the marginal posterior with a
  gradient vectorised over votes (plain EM converged sublinearly: 200
  alternations did not reach 1e-6 on 8k votes).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import expit

from algorithms._gauss import (
    LAMBDA2,
    GaussianItemModel,
    check_int,
    check_positive,
    pack_array,
    unpack_array,
    voter_array,
)
from algorithms.base import FloatArray, IntArray, VoteContext, as_votes, register_model

__all__ = ["CrowdBT"]


def _voter_id(v: Any) -> int | str:
    """Normalise a voter id to a plain ``int`` or ``str`` (what survives a JSON round trip)."""
    if type(v) is int or type(v) is str:
        return v
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, str):
        return str(v)
    raise ValueError(f"voter ids must be ints or strings, got {v!r} ({type(v).__name__})")


def _beta_after(alpha: float, beta: float, c: float) -> tuple[float, float]:
    """Moment-match ``Beta(α, β) · (η c + (1 - η)(1 - c))`` back to a Beta.

    ``c`` is the probability that the voter's answer is the true order.
    """
    ab = alpha + beta
    z = (c * alpha + (1.0 - c) * beta) / ab
    e1 = (c * (alpha + 1.0) * alpha + (1.0 - c) * alpha * beta) / (z * (ab + 1.0) * ab)
    e2 = (c * (alpha + 2.0) * (alpha + 1.0) * alpha + (1.0 - c) * (alpha + 1.0) * alpha * beta) / (
        z * (ab + 2.0) * (ab + 1.0) * ab
    )
    var = e2 - e1 * e1
    if var <= 0.0:  # pragma: no cover - only with absurd priors (α + β ~ 1e16)
        return alpha, beta
    common = (e1 - e2) / var
    return common * e1, common * (1.0 - e1)


@register_model("crowd-bt")
class CrowdBT(GaussianItemModel):
    """Crowd-BT: Gaussian item scores plus a Beta reliability per voter.

    Parameters
    ----------
    n_items
        Number of items to start with.
    prior_var
        Prior variance of every item score.
    alpha, beta
        Beta prior of each voter's reliability ``η`` (probability of answering
        per the truth). Gavel's defaults ``(10, 1)``: mean 0.91. A vote with
        ``voter=None`` uses this prior and teaches nothing about reliability.
    kappa
        Floor of the per-vote variance scaling factor (Gavel's ``κ``).
    max_iter, tol
        Iteration cap and gradient tolerance of the batch :meth:`fit` (L-BFGS).

    Notes
    -----
    Voter ids are ints or strings (they must survive a JSON round trip).
    An outcome ``y`` in ``(0, 1)`` (a tie is 0.5) mixes the win and the loss
    updates in the shares ``y`` and ``1 - y``, for the scores and for ``(α, β)``.

    Examples
    --------
    >>> m = CrowdBT(n_items=3)
    >>> m.update([0, 0, 1], [1, 2, 2], [1.0, 1.0, 1.0], voter=[7, 7, 7])
    >>> bool(m.scores()[0] > m.scores()[1] > m.scores()[2])
    True
    >>> m.update(2, 0, 1.0, voter="troll")  # an upset: the troll looks less reliable
    >>> r = m.voter_reliability()
    >>> bool(r["troll"] < 10 / 11 < r[7])
    True
    """

    uses = frozenset({"voter"})

    fit_order_invariant: ClassVar[bool] = True

    def __init__(
        self,
        n_items: int = 0,
        *,
        prior_var: float = 1.0,
        alpha: float = 10.0,
        beta: float = 1.0,
        kappa: float = 1e-4,
        max_iter: int = 1000,
        tol: float = 1e-6,
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.kappa = kappa
        self.max_iter = max_iter
        self.tol = tol
        super().__init__(n_items, prior_var=prior_var)

    def _validate_params(self) -> None:
        super()._validate_params()
        self._a0 = check_positive("alpha", self.alpha)
        self._b0 = check_positive("beta", self.beta)
        self._kappa = check_positive("kappa", self.kappa)
        if self._kappa >= 1.0:
            raise ValueError(f"kappa must be in (0, 1), got {self.kappa!r}")
        if check_int("max_iter", self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter!r}")
        check_positive("tol", self.tol)

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "alpha": float(self.alpha),
            "beta": float(self.beta),
            "kappa": float(self.kappa),
            "max_iter": int(self.max_iter),
            "tol": float(self.tol),
        }

    def _reset(self) -> None:
        super()._reset()
        self._voter_index: dict[int | str, int] = {}
        self._va: list[float] = []  # learned Beta α per voter, in order of first vote
        self._vb: list[float] = []

    # -- online ---------------------------------------------------------------------
    def _step(self, i: int, j: int, y: float, voter: Any) -> None:
        mu = self._mu
        s2 = self._s2
        vi = s2[i]
        vj = s2[j]
        d = mu[i] - mu[j]
        if voter is None:
            k = -1
            a, b = self._a0, self._b0
        else:
            vid = _voter_id(voter)
            k = self._voter_index.get(vid, -1)
            if k < 0:
                k = self._voter_index[vid] = len(self._va)
                self._va.append(self._a0)
                self._vb.append(self._b0)
            a, b = self._va[k], self._vb[k]
        # p = σ(d); w = P(true order is "i wins" | voter says "i wins") with η ~ its Beta mean
        if d >= 0.0:
            e = math.exp(-d)
            p = 1.0 / (1.0 + e)
            q = e * p
        else:
            e = math.exp(d)
            q = 1.0 / (1.0 + e)
            p = e * q
        pq = p * q
        g = 0.0
        h = 0.0
        if y > 0.0:  # "i beats j" in share y
            w = a * p / (a * p + b * q)
            g += y * (w - p)
            h += y * (w * (1.0 - w) - pq)
        if y < 1.0:  # "j beats i" in share 1 - y
            w = a * q / (a * q + b * p)
            g -= (1.0 - y) * (w - q)
            h += (1.0 - y) * (w * (1.0 - w) - pq)
        mu[i] += vi * g
        mu[j] -= vj * g
        kappa = self._kappa
        s2[i] = vi * max(1.0 + vi * h, kappa)
        s2[j] = vj * max(1.0 + vj * h, kappa)
        if k >= 0:
            # c1 = E[σ(d)] under the items' Gaussians (probit approximation)
            c1 = 1.0 / (1.0 + math.exp(-d / math.sqrt(1.0 + LAMBDA2 * (vi + vj))))
            if y == 1.0:
                a, b = _beta_after(a, b, c1)
            elif y == 0.0:
                a, b = _beta_after(a, b, 1.0 - c1)
            else:
                aw, bw = _beta_after(a, b, c1)
                al, bl = _beta_after(a, b, 1.0 - c1)
                a, b = y * aw + (1.0 - y) * al, y * bw + (1.0 - y) * bl
            self._va[k] = a
            self._vb[k] = b

    def _voters(self, voter: ArrayLike | None, size: int) -> Iterator[Any]:
        ids = list(super()._voters(voter, size))
        if voter is not None:
            ids = [_voter_id(v) for v in ids]  # all checked before any vote is applied
        return iter(ids)

    def voter_reliability(self) -> dict[int | str, float]:
        """Posterior mean reliability ``α / (α + β)`` of every voter seen so far."""
        return {
            vid: self._va[k] / (self._va[k] + self._vb[k]) for vid, k in self._voter_index.items()
        }

    def voter_beta(self) -> dict[int | str, tuple[float, float]]:
        """The Beta ``(α, β)`` of every voter's reliability."""
        return {vid: (self._va[k], self._vb[k]) for vid, k in self._voter_index.items()}

    # -- batch fit -----------------------------------------------------------------
    def fit(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> Self:
        """Fit from scratch: joint MAP of scores and reliabilities; vote order does not matter.

        Maximises ``Σ log(η_k σ(±d) + (1 - η_k) σ(∓d)) + log N(s; 0, prior_var) +
        Σ_k (α log η_k + β log(1 - η_k))`` (the Beta prior as a density of ``θ``) over
        ``s`` and ``θ_k = logit η_k`` by L-BFGS.
        At the optimum the EM identities hold: with ``r = P(vote follows the
        truth) = σ(θ_k + (2y - 1) d)``, the scores are the Bradley-Terry MAP for
        soft outcomes ``r y + (1 - r)(1 - y)`` and ``η_k = (α + Σ r) / (α + β + n_k)``
        (the mode in ``θ`` of the Beta prior times the likelihood, never 0 or 1), so a
        careless voter's votes are pulled towards 0.5 and an adversarial voter's flipped.
        Afterwards item variances are ``1 / (1/prior_var + Σ [p(1-p) - (2y-1)² r(1-r)])``,
        the diagonal of the observed information of this posterior at the optimum
        (Laplace, diagonal only, reliabilities held fixed), and each voter
        holds ``Beta(α + Σ r, β + Σ (1 - r))`` (ties not counted), so online
        updates continue from there. Without ``voter``, every vote uses the
        prior mean reliability.
        """
        li, ri, out = as_votes(left, right, outcome, self._n)
        codes, ids = self._voter_codes(voter, li.shape[0])
        self._reset_to(self._n)
        if li.size == 0:
            return self
        s, _, r = self._joint_map(li, ri, out, codes, len(ids))
        p = expit(s[li] - s[ri])
        n = self._n
        # observed information of the marginal likelihood in d: p(1-p) - (2y-1)^2 r(1-r)
        # (a vote whose truthfulness is in doubt tells less than a plain BT vote)
        w = p * (1.0 - p) - (2.0 * out - 1.0) ** 2 * r * (1.0 - r)
        info = np.maximum(np.bincount(li, w, n) + np.bincount(ri, w, n), 0.0)
        self._release_views()
        self._set_arrays(s, np.asarray(1.0 / (1.0 / self.prior_var + info), dtype=np.float64))
        self._votes = int(li.shape[0])
        if ids:
            m = len(ids)
            # a vote counts |2y - 1| towards its voter (a tie says nothing about reliability)
            weight = np.abs(2.0 * out - 1.0)
            sr = np.bincount(codes, weight * r, m)
            cnt = np.bincount(codes, weight, m)
            self._voter_index = {vid: k for k, vid in enumerate(ids)}
            self._va = (self._a0 + sr).tolist()
            self._vb = (self._b0 + cnt - sr).tolist()
        return self

    def _voter_codes(self, voter: ArrayLike | None, size: int) -> tuple[IntArray, list[int | str]]:
        if voter is None:
            return np.zeros(size, dtype=np.int64), []
        vs = voter_array(voter)
        if vs.ndim == 0:
            vs = np.full(size, vs.item(), dtype=vs.dtype)
        if vs.shape != (size,):
            raise ValueError(f"voter must have one entry per vote ({size}), got shape {vs.shape}")
        try:
            uniq, codes = np.unique(vs, return_inverse=True)
        except TypeError:
            raise ValueError("voter ids in one batch must all be ints or all strings") from None
        ids = [_voter_id(v) for v in uniq.tolist()]
        return codes.astype(np.int64).reshape(-1), ids

    def _joint_map(
        self, li: IntArray, ri: IntArray, out: FloatArray, codes: IntArray, n_voters: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Joint MAP of the scores and the voters' ``θ = logit η``; returns ``(s, η, r)``.

        Per vote, ``log P = -y softplus(d) - (1-y) softplus(-d) - softplus(θ) +
        softplus(θ + (2y-1) d)``, whose gradients are ``target - σ(d)`` in ``d`` and
        ``r - η`` in ``θ`` (the EM quantities).
        """
        n = self._n
        a0, b0 = self._a0, self._b0
        sign = 2.0 * out - 1.0
        prec = 1.0 / self.prior_var
        nv = max(n_voters, 1)
        theta_prior = math.log(a0 / b0)  # logit of the prior mean

        def split(x: FloatArray) -> tuple[FloatArray, FloatArray]:
            if n_voters:
                return x[:n], x[n:]
            return x, np.full(nv, theta_prior)

        def fun(x: FloatArray) -> tuple[float, FloatArray]:
            s, theta = split(x)
            d = s[li] - s[ri]
            z = theta[codes] + sign * d
            sp_theta = np.logaddexp(0.0, theta)
            # -y softplus(d) - (1-y) softplus(-d) = (1-y) d - softplus(d)
            ll = (1.0 - out) * d - np.logaddexp(0.0, d) - sp_theta[codes] + np.logaddexp(0.0, z)
            r = expit(z)
            gd = (1.0 - out) - expit(d) + sign * r  # ∂ log P / ∂d
            f = -float(np.sum(ll)) + 0.5 * prec * float(s @ s)
            gs = -(np.bincount(li, gd, n) - np.bincount(ri, gd, n)) + prec * s
            if not n_voters:
                return f, gs
            eta = expit(theta)
            # Beta(α, β) prior as a density of θ (with the Jacobian η(1 - η)):
            # α log η + β log(1 - η); its mode in θ is the posterior mean form
            # (α + Σ r) / (α + β + n_k), never 0 or 1
            f += float(np.sum(a0 * (sp_theta - theta) + b0 * sp_theta))
            gt = -np.bincount(codes, r - eta[codes], nv) - (a0 * (1.0 - eta) - b0 * eta)
            return f, np.concatenate([gs, gt])

        x0 = np.zeros(n + (nv if n_voters else 0))
        if n_voters:
            x0[n:] = theta_prior
        res = minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": int(self.max_iter), "gtol": float(self.tol), "ftol": 1e-15},
        )
        s, theta = split(np.asarray(res.x, dtype=np.float64))
        r = expit(theta[codes] + sign * (s[li] - s[ri]))
        return s.copy(), expit(theta), r

    # -- state --------------------------------------------------------------------
    def _state_data(self) -> dict[str, Any]:
        return {
            "voters": list(self._voter_index),
            "voter_alpha": pack_array(np.asarray(self._va, dtype=np.float64)),
            "voter_beta": pack_array(np.asarray(self._vb, dtype=np.float64)),
        }

    def _load_state_data(self, data: dict[str, Any]) -> None:
        ids = [_voter_id(v) for v in data["voters"]]
        va = unpack_array(data["voter_alpha"])
        vb = unpack_array(data["voter_beta"])
        if not (len(ids) == va.shape[0] == vb.shape[0]):
            raise ValueError("state data: voters, voter_alpha and voter_beta differ in length")
        self._voter_index = {vid: k for k, vid in enumerate(ids)}
        self._va = va.tolist()
        self._vb = vb.tolist()
