"""Region inputs for training, and folding the trained members into numpy first layers.

:func:`region_inputs` applies each region's linear preprocessing matrix (baseline, pooling,
masking; see :mod:`~specstate.models._linear`) to the normalised training spectra and
standardises every input by its pooled within-class spread (a per-pixel noise weighting).
:func:`fold_networks` turns the trained members of every region into one
:class:`~specstate.models._inference.FoldedNetworks`: ``A @ (W1 / sd)`` is the first layer
on the raw slice, the members sit side by side, and the output layer averages their logits.
"""

from __future__ import annotations

import numpy as np

from ._inference import FoldedNetworks
from ._linear import region_operator

__all__ = ["RegionInputs", "region_inputs", "fold_networks"]

#: Fraction of the mean within-class spread used as the floor of an input's spread.
STD_FLOOR = 1e-3


class RegionInputs:
    """Standardised, zero-padded network inputs and what is needed to fold them back."""

    def __init__(self, ops, mus, sds, padded, n_inputs):
        self.ops = ops  # [(lo, hi, A)] per region
        self.mus = mus
        self.sds = sds
        self.padded = padded  # (n, R, L) float32
        self.n_inputs = n_inputs  # (R,)


def region_inputs(Xn, groups, boundaries, sigma, pool, keep, margin,
                  point_var=None) -> RegionInputs:
    """Inputs of every region network for normalised spectra `Xn` (n, m).

    Each input is centred and scaled without the labels: by its scatter around the
    reference each row came from (`groups`: with augmentation, the nuisances and noise
    the copies carry, the scale the networks must learn to ignore), or, when every row is
    its own reference, by its plain standard deviation (as scikit-learn's StandardScaler).
    A scale measured within the states would use the labels of every reference, including
    those held out to score the networks: on random labels it up-weighted the inputs where
    chance had lined the labels up (6 labellings of one pattern: 4 refused instead of 6).
    `point_var` (m,): the references' noise model per point; an input's scale is never
    below the noise it carries, ``sum A_ij² var_i`` (as the linear member's spreads).
    """
    m = Xn.shape[1]
    ops, feats, mus, sds = [], [], [], []
    groups = np.asarray(groups)
    _, g, cnt = np.unique(groups, return_inverse=True, return_counts=True)
    by_group = cnt.size < groups.size  # some reference has copies
    if by_group:  # (references, rows) averaging matrix, sparse: one product per region
        from scipy import sparse

        mean_of = sparse.csr_matrix((1.0 / cnt[g], (g, np.arange(g.size))),
                                    shape=(cnt.size, g.size))
    for a, b in zip(boundaries[:-1], boundaries[1:]):
        lo, hi, A = region_operator(m, int(a), int(b), sigma, pool, keep, margin)
        F = Xn[:, lo:hi] @ A
        if by_group:
            gm = mean_of @ F
            within = np.sqrt(((F - gm[g]) ** 2).sum(axis=0) / max(len(F) - cnt.size, 1))
        else:
            within = F.std(axis=0)
        if point_var is not None:
            within = np.maximum(within, np.sqrt((A * A).T @ point_var[lo:hi]))
        sd = np.maximum(within, STD_FLOOR * max(float(within.mean()), np.finfo(float).tiny))
        sd = np.where(sd > 0, sd, 1.0)
        mu = F.mean(axis=0)
        ops.append((lo, hi, A))
        feats.append((F - mu) / sd)
        mus.append(mu)
        sds.append(sd)
    n_in = np.array([f.shape[1] for f in feats])
    padded = np.zeros((len(Xn), len(ops), int(n_in.max())), dtype=np.float32)
    for r, f in enumerate(feats):
        padded[:, r, :f.shape[1]] = f
    return RegionInputs(ops, mus, sds, padded, n_in)


def fold_networks(inputs: RegionInputs, params, members, boundaries, keep, weights, bias,
                  temperature, combination, normalize, activation,
                  linear=None, novelty=None, n_content=0, n_smooth=0,
                  content_matrix=None) -> FoldedNetworks:
    """Fold the member copies ``params[...][members]`` of every active region into numpy.

    Parameters
    ----------
    linear : (numpy.ndarray of shape (m, C), numpy.ndarray of shape (C,)), optional
        The whole-spectrum linear member with its preprocessing folded in: logits
        ``(x / total) @ W + b``. Its weight is the last entry of `weights`. Its columns are
        split over the slices the region networks read anyway (each point's weights go to
        the one slice whose core holds it), so it costs no extra pass over the spectra.

    novelty : numpy.ndarray of shape (m, k), optional
        Projections of the novelty score (:mod:`specstate.ensemble._novelty`) on the
        normalised spectrum, split over the slices like the linear member.
    n_content : int, default=0
        The last columns of `novelty` that are the peak content's (summed apart).
    n_smooth : int, default=0
        The columns of `novelty` before the content's that are the smooth score's.
    content_matrix : numpy.ndarray of shape (K, J), optional
        The peak content read from the novelty's K subspace coordinates (the first columns
        of `novelty`) instead of columns of its own.

    Regions of weight 0 are left out; their points still count in each spectrum's total
    (with `normalize`) and in the linear member, merged into as few products as possible.
    """
    W1s, b1s, W2s, b2s, los, his, sums, sum_w = [], [], [], [], [], [], [], []
    E = len(members)
    C = params["b2"].shape[-1] if params is not None else len(bias)
    R = len(inputs.ops) if inputs is not None else 0
    w_lin = None if linear is None else np.asarray(linear[0], dtype=np.float64)
    w_nov = None if novelty is None else np.asarray(novelty, dtype=np.float64)
    active = np.asarray(weights[:R]) > 0
    h = params["b1"].shape[-1] * E if params is not None else 0

    def side_columns(a, b):
        cols = []
        if normalize:
            cols.append(keep[a:b, None].astype(np.float64))
        if w_lin is not None:
            cols.append(w_lin[a:b])
        if w_nov is not None:
            cols.append(w_nov[a:b])
        return np.concatenate(cols, axis=1) if cols else np.zeros((b - a, 0))

    cores = [(int(boundaries[r]), int(boundaries[r + 1])) for r in range(len(boundaries) - 1)]
    for r, (a, b) in enumerate(cores):
        if r >= R or not active[r]:
            if not (normalize or w_lin is not None or w_nov is not None):
                continue
            if sums and sums[-1][1] == a:  # merge with the previous one
                sums[-1] = (sums[-1][0], b)
                sum_w[-1] = np.concatenate([sum_w[-1], side_columns(a, b)], axis=0)
            else:
                sums.append((a, b))
                sum_w.append(side_columns(a, b))
            continue
        lo, hi, A = inputs.ops[r]
        # the members side by side: one wider network whose output averages their logits
        n_in = inputs.n_inputs[r]
        W1 = np.concatenate([params["W1"][g, r, :n_in] for g in members], axis=1)
        W1 = W1.astype(np.float64)
        sd, mu = inputs.sds[r], inputs.mus[r]
        Wf = A @ (W1 / sd[:, None])
        bf = np.concatenate([params["b1"][g, r] for g in members]) - (mu / sd) @ W1
        side = np.zeros((hi - lo, side_columns(a, b).shape[1]))
        side[a - lo:b - lo] = side_columns(a, b)
        Wf = np.concatenate([Wf, side], axis=1)
        W1s.append(Wf.astype(np.float32))
        b1s.append(bf)
        W2s.append(np.concatenate([params["W2"][g, r] for g in members], axis=0) / E)
        b2s.append(np.mean([params["b2"][g, r] for g in members], axis=0))
        los.append(lo)
        his.append(hi)
    Ra = len(W1s)
    member_w = np.concatenate([np.asarray(weights[:R])[active], np.asarray(weights[R:])])
    return FoldedNetworks(
        lo=np.asarray(los, dtype=np.int64),
        hi=np.asarray(his, dtype=np.int64),
        W1=W1s,
        b1=np.asarray(b1s, dtype=np.float32).reshape(Ra, h),
        W2=np.asarray(W2s, dtype=np.float32).reshape(Ra, h, C),
        b2=np.asarray(b2s, dtype=np.float32).reshape(Ra, C),
        weights=member_w.astype(np.float64),
        bias=np.asarray(bias, dtype=np.float64),
        temperature=temperature,
        combination=combination,
        normalize=normalize,
        activation=activation,
        sum_slices=np.asarray(sums, dtype=np.int64).reshape(-1, 2),
        sum_keep=[w.astype(np.float32) for w in sum_w],
        n_hidden_units=h,
        linear_bias=None if linear is None else np.asarray(linear[1], dtype=np.float64),
        n_novelty=0 if novelty is None else int(w_nov.shape[1]),
        n_content=0 if novelty is None else int(n_content),
        n_smooth=0 if novelty is None else int(n_smooth),
        content_matrix=(None if novelty is None or content_matrix is None
                        or not np.size(content_matrix) else np.asarray(content_matrix)),
    )
