"""The fast prediction path, numpy only: one matmul per region on a strided view of X.

All linear preprocessing (high-pass baseline, pooling, masking, standardisation) is folded
into each region's first-layer matrix ``W_r`` at fit time. Per-spectrum normalisation (by
the spectrum's total intensity, which removes beam intensity / SASE pulse-energy changes)
is one extra column of ones in each ``W_r``: the same matmul yields the region sums, and the
projections are divided by their total. A spectrum costs one read of its points.

A batch is cut into blocks of rows. Each block runs the whole path (the products, the hidden
and output layers, the combination of the members and the novelty score's sums: its
projections and the spectrum's weighted sum of squares, read in cache-sized rows) on one
core while its arrays are in cache; the blocks are spread over the cores. A row's result does not
depend on the other rows of its block or batch: OpenBLAS computes every output row alike
for any number of rows >= 2 (checked bit for bit), and a single spectrum is run as two
identical rows (:data:`MIN_ROWS`). Only the columns a call needs are multiplied: ``predict``
skips the novelty projections, and a linear member of weight 0 is skipped too.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace

import numpy as np

from .._cores import available_cores
from ..ensemble._stacking import LOGP_FLOOR

__all__ = ["FoldedNetworks"]

#: Smallest total intensity a spectrum may have before normalisation (avoids 0 division).
TINY_TOTAL = 1e-30
#: Batches of at least this many spectra spread their blocks of rows over the cores.
PARALLEL_MIN_SPECTRA = 256
#: Rows per block at most: a block's products (regions x rows x columns) stay in the 2 MB
#: L2 cache of a core for the work after the matmuls; more blocks than cores also let an
#: idle core take over from a busy one on a shared machine.
BLOCK_ROWS = 512
#: Side columns (total, linear member, novelty projections) per hidden column above which
#: they are multiplied on each region's core alone, apart from its window: the window's rows
#: outside the core are zero in them (see fold_networks), products for nothing, but apart
#: they cost one more pass over the core. Measured on 2,700 x 4,000 float32 trains: 225
#: side columns beside 24 hidden ones, 54 ms together, 45 ms apart; 40 beside 24, 24.6 and
#: 25.0 ms; 3 beside 24, 10-12 ms together, 13-15 ms apart.
SPLIT_SIDE_COLUMNS = 4
#: Fewest rows a product is run with: OpenBLAS computes a single row by another kernel
#: (gemv-like, results differing in the last bits), so one spectrum is run as two rows.
MIN_ROWS = 2
#: The columns of every first-layer matrix are padded with zeros to a multiple of this:
#: OpenBLAS's float32 kernels run 15-25 % slower on 27 or 59 columns than on 32 or 64
#: (measured on AVX-512, 2,700 x 4,000 spectra); zero columns change no other column.
COLUMN_MULTIPLE = 8

_pool_lock = threading.Lock()
_pool_state: dict = {}
# Per-thread scratch arrays of the prediction path, reused from call to call: a fresh
# multi-MB array per call is a fresh mmap whose pages fault in on every train (measured:
# predict ran at ~160k spectra/s until glibc raised its mmap threshold, ~250k/s after).
_scratch = threading.local()


def _scratch_array(name: str, shape: tuple, dtype) -> np.ndarray:
    """A scratch array of this thread, reused while it is large enough.

    ``shape[1]`` is a number of rows: an array with room for more rows is reused (its first
    ``shape[1]`` rows, contiguous in each ``[r]``), so blocks of slightly different sizes
    share one array.
    """
    arrays = _scratch.__dict__.setdefault("arrays", {})
    a = arrays.get(name)
    if (a is None or a.dtype != dtype or a.shape[0] != shape[0] or a.shape[2:] != shape[2:]
            or a.shape[1] < shape[1]):
        a = arrays[name] = np.empty(shape, dtype=dtype)
    return a[:, :shape[1]]


def _parallel():
    """A thread pool over the cores and a BLAS thread controller (made once per process).

    The blocks of rows run one per core, each with a single BLAS thread: BLAS's own
    threads synchronise at every call, and on a busy machine a call then waits for a
    descheduled partner thread (measured: a one-column product went from 0.1 to 5 ms).
    Numpy releases the GIL inside matmul, so the products truly run in parallel.
    """
    pid = os.getpid()
    with _pool_lock:
        if _pool_state.get("pid") != pid:  # new process (or a fork): fresh pool
            from concurrent.futures import ThreadPoolExecutor

            from threadpoolctl import ThreadpoolController

            workers = available_cores()
            _pool_state.update(
                pid=pid,
                pool=ThreadPoolExecutor(workers, thread_name_prefix="specstate") if workers > 1
                else None,
                controller=ThreadpoolController(),
            )
        return _pool_state["pool"], _pool_state["controller"]


#: Bytes of rows squared at a time by :func:`_weighted_squares`: a core's L2 cache, so the
#: rows are read from memory once for their squares and the matvec.
_SQUARES_BYTES = 2**19


def _weighted_squares(X: np.ndarray, w: np.ndarray, lag=None) -> np.ndarray:
    """``sum_j w_j X_ij²`` (+ ``sum_j lag_j X_ij X_i,j+1``) per row, in cache-sized blocks."""
    n, m = X.shape
    rows = max(1, _SQUARES_BYTES // (m * X.itemsize))
    buf = _scratch_array("sq", (1, min(rows, n), m), X.dtype)[0]
    out = np.empty(n)
    for lo in range(0, n, rows):
        xb = X[lo:lo + rows]
        b = buf[:len(xb)]
        np.multiply(xb, xb, out=b)
        out[lo:lo + rows] = b @ w
        if lag is not None:
            np.multiply(xb[:, :-1], xb[:, 1:], out=b[:, :-1])
            out[lo:lo + rows] += b[:, :-1] @ lag
    return out


#: Fractions of a point that still count as the same interpolation weight along a run of
#: columns (those of a uniform axis differ by float rounding, ~1e-13).
_SAME_FRACTION = 1e-9


def _moved_rows(W: np.ndarray, i0: np.ndarray, frac: np.ndarray):
    """Rows of W (read on moved columns) as rows on the source columns: ``(W', lo')``.

    A moved spectrum's column j is ``(1 - f_j) x[i_j] + f_j x[i_j + 1]``, so
    ``moved[:, lo:hi] @ W = x[:, lo':hi'] @ W'``, row ``i_j`` of W' getting
    ``(1 - f_j) W[j]`` and row ``i_j + 1`` getting ``f_j W[j]`` (``i`` never decreases).
    Along a run of columns with the same offset ``i_j - j`` and fraction (all of them on a
    uniform axis, but where the move reaches past an end) that is two slices of W.
    """
    n = len(i0)
    d = i0 - np.arange(n)
    cuts = np.flatnonzero((np.diff(d) != 0) | (np.abs(np.diff(frac)) > _SAME_FRACTION)) + 1
    lo = int(i0[0])
    out = np.zeros((int(i0[-1]) + 2 - lo, *W.shape[1:]), dtype=W.dtype)
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, n]):
        f = W.dtype.type(frac[a])
        start = int(i0[a]) - lo
        out[start:start + b - a] += (1 - f) * W[a:b]
        out[start + 1:start + 1 + b - a] += f * W[a:b]
    return out, lo


def _pad_columns(W: np.ndarray, dtype) -> np.ndarray:
    """W with zero columns up to a multiple of COLUMN_MULTIPLE (at least one), in dtype."""
    width = max(-(-W.shape[1] // COLUMN_MULTIPLE) * COLUMN_MULTIPLE, COLUMN_MULTIPLE)
    out = np.zeros((W.shape[0], width), dtype=dtype)
    out[:, :W.shape[1]] = W
    return out


def _log_softmax_last(out: np.ndarray) -> np.ndarray:
    """In-place log-softmax over the last (few-class) axis of `out`.

    numpy's reductions over a trailing axis of 2-5 classes are ~10x slower than element-wise
    operations across the class slices, so the max and the sum run over the C slices.
    """
    top = out[..., 0].copy()
    for c in range(1, out.shape[-1]):
        np.maximum(top, out[..., c], out=top)
    out -= top[..., None]
    total = np.exp(out[..., 0])
    for c in range(1, out.shape[-1]):
        total += np.exp(out[..., c])
    out -= np.log(total)[..., None]
    return out


@dataclass
class _Plan:
    """The matrices of one kind of prediction call (see :meth:`FoldedNetworks._plan`)."""

    mats: list  # per active region: (hi - lo, width) float, hidden columns then the side ones
    keeps: list  # per sum slice: (len, width) float, the side columns
    b1: np.ndarray  # (R, width): zero beyond the hidden columns
    neg_b1: np.ndarray
    W2: np.ndarray  # (R, width, C): zero rows beyond the hidden columns
    out_bias: np.ndarray  # (R, C): b2, plus b1 @ W2 for ReLU
    n_side: int  # side columns used: total, linear member, novelty projections
    linear: bool
    novelty: bool
    lin_bias: np.ndarray | None
    weights: np.ndarray  # of the members computed
    slices: list  # per matrix of `mats` then of `keeps`: the columns (lo, hi) it reads
    fused: bool  # the side columns beside the hidden ones in `mats` (else in `keeps`)
    sq: tuple | None = None  # (weights, lag weights) of the novelty's squares when moved
    content_matrix: np.ndarray | None = None  # (K, J) in dtype: content from coordinates


@dataclass
class FoldedNetworks:
    """Fitted members with the preprocessing folded in (numpy only).

    Attributes
    ----------
    lo, hi : numpy.ndarray of int of shape (R,)
        Slice of the points each active region's first layer reads (widened by the
        baseline kernel).
    W1 : list of numpy.ndarray of shape (hi - lo, h + normalize + C_lin), float32
        Folded first layers. After the h hidden columns: with `normalize`, one column of
        the region core's kept points (the spectrum's total intensity is summed by the same
        matmul), then the linear member's C_lin columns for the points of the core.
    b1 : (R, h); W2 : (R, h, C); b2 : (R, C)
        The rest of each region's network.
    weights : (R + linear,); bias : (C,); temperature : float; combination : {'logit', 'vote'}
        How the members are combined (see :func:`~specstate.ensemble._stacking.combine`);
        the linear member's weight is last.
    sum_slices : numpy.ndarray of int of shape (k, 2)
        Parts of the axis outside every active region's core; their matrices `sum_keep`
        (len, normalize + C_lin) add their points to the total and to the linear member.
    n_hidden_units : int
        Hidden units per region (h).
    linear_bias : numpy.ndarray of shape (C,) or None
        The linear member's bias (None: no linear member).
    n_novelty : int
        Columns of the novelty projections after the linear member's (0: no novelty score).
    n_content : int
        The last of those columns that are the peak content's (summed apart; 0: none).
    n_smooth : int
        The columns before the content's that are the smooth score's (summed apart; 0:
        none).
    content_matrix : numpy.ndarray of shape (K, J) or None
        The peak content from the novelty's subspace coordinates (their product with it,
        squared and summed: :func:`specstate.ensemble._novelty._fit_content`); None: no
        content, or (``n_content > 0``, an earlier model file) its own columns.
    """

    lo: np.ndarray
    hi: np.ndarray
    W1: list
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    temperature: float
    combination: str
    normalize: bool
    activation: str
    sum_slices: np.ndarray
    sum_keep: list
    n_hidden_units: int = 0
    linear_bias: np.ndarray | None = None
    n_novelty: int = 0
    n_content: int = 0
    n_smooth: int = 0
    content_matrix: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_hidden(self) -> int:
        """Hidden units per region."""
        return int(self.n_hidden_units)

    @property
    def n_linear(self) -> int:
        """Columns of the linear member (0: none)."""
        return 0 if self.linear_bias is None else int(len(self.linear_bias))

    def _plan(self, dtype, novelty: bool, members: bool) -> _Plan:
        """The matrices of one kind of call, made once per dtype and kind (a cache)."""
        key = (np.dtype(dtype).str, bool(novelty), bool(members))
        plan = self._cache.get(key)
        if plan is not None:
            return plan
        h, nz, nl, nk = self.n_hidden, int(self.normalize), self.n_linear, self.n_novelty
        R = len(self.W1)
        # the linear member's columns only where its logits are used
        use_lin = nl > 0 and (members or float(self.weights[-1]) > 0)
        cols = list(range(nz)) + (list(range(nz, nz + nl)) if use_lin else [])
        if novelty and nk:
            cols += list(range(nz + nl, nz + nl + nk))
        cols = np.asarray(cols, dtype=np.int64)

        def padded(W, first):
            return _pad_columns(np.concatenate([W[:, :first], W[:, first + cols]], axis=1),
                                dtype)

        # Wide side columns (many novelty projections) are multiplied on each region's
        # core only (see SPLIT_SIDE_COLUMNS); narrow ones stay beside the hidden columns.
        split = len(cols) > SPLIT_SIDE_COLUMNS * max(h, 1)
        mats, keeps, slices = [], [], []
        for r, W in enumerate(self.W1):
            W = W.reshape(W.shape[0], -1)
            mats.append(_pad_columns(W[:, :h], dtype) if split else padded(W, h))
            slices.append((int(self.lo[r]), int(self.hi[r])))
        for r, W in enumerate(self.W1 if split else []):
            W = W.reshape(W.shape[0], -1)
            side_rows = np.flatnonzero(np.any(W[:, h + cols] != 0, axis=1))
            if side_rows.size:
                a, b = int(side_rows[0]), int(side_rows[-1]) + 1
                keeps.append(padded(W[a:b, h:], 0))
                slices.append((int(self.lo[r]) + a, int(self.lo[r]) + b))
        for (u, v), k in zip(self.sum_slices, self.sum_keep):
            keeps.append(padded(k.reshape(k.shape[0], -1), 0))
            slices.append((int(u), int(v)))
        width = mats[0].shape[1] if mats else h
        # b1 and W2 padded with zeros to the matrices' width (see _block)
        W2 = np.zeros((R, width, self.W2.shape[-1]), dtype=dtype)
        W2[:, :h] = self.W2
        b1 = np.zeros((R, width), dtype=dtype)
        b1[:, :h] = self.b1
        # relu(z + b1) = max(z, -b1) + b1, and its "+ b1" goes into the output layer's bias
        out_bias = self.b2.astype(np.float64)
        if self.activation == "relu":
            out_bias = out_bias + np.einsum("rh,rhc->rc", self.b1.astype(np.float64),
                                            self.W2.astype(np.float64))
        weights = np.asarray(self.weights, dtype=np.float64)
        plan = _Plan(
            mats=mats,
            keeps=keeps,
            b1=b1, neg_b1=-b1, W2=W2, out_bias=out_bias.astype(dtype),
            n_side=len(cols), linear=use_lin, novelty=bool(novelty and nk),
            lin_bias=None if not use_lin else self.linear_bias.astype(dtype),
            weights=(weights if use_lin or not nl else weights[:R]).astype(dtype),
            slices=slices, fused=not split,
            content_matrix=(None if self.content_matrix is None or not (novelty and nk)
                            else np.asarray(self.content_matrix, dtype=dtype)),
        )
        self._cache[key] = plan
        return plan

    def _moved_plan(self, plan: _Plan, move, sq_weight, dtype) -> _Plan:
        """`plan` for spectra read through `move` (``(i0, frac)``, see :func:`_moved_rows`).

        Every first-layer matrix is folded onto the columns the moved spectra come from,
        and the novelty's weighted squares become squares and neighbour products of the
        unmoved spectrum: the prediction reads the train as it is, with no aligned copy
        and no interpolation pass (the matrices are rewritten per call, a few ms at most).
        """
        i0, frac = (np.asarray(a) for a in move)
        mats, keeps, slices = [], [], []
        for j, W in enumerate(plan.mats + plan.keeps):
            lo, hi = plan.slices[j]
            Wm, new_lo = _moved_rows(W, i0[lo:hi], frac[lo:hi])
            (mats if j < len(plan.mats) else keeps).append(Wm)
            slices.append((new_lo, new_lo + Wm.shape[0]))
        sq = None
        if sq_weight is not None:
            # sum_j w_j ((1 - f_j) x[i_j] + f_j x[i_j + 1])²: squares and neighbour products
            w = np.asarray(sq_weight, np.float64)
            sq_w, lag = np.zeros(len(w)), np.zeros(max(len(w) - 1, 0))
            np.add.at(sq_w, i0, (1 - frac) ** 2 * w)
            np.add.at(sq_w, i0 + 1, frac**2 * w)
            np.add.at(lag, i0, 2 * frac * (1 - frac) * w)
            sq = (sq_w.astype(dtype), lag.astype(dtype))
        return replace(plan, mats=mats, keeps=keeps, slices=slices, sq=sq)

    def _run(self, X: np.ndarray, novelty: bool, members: bool, sq_weight=None, move=None):
        """Log-probabilities (combined (n, C), or per member (n, M, C)) and novelty sums.

        With `novelty`: also, per spectrum, the novelty projections' sum of squares, the
        total and (with `sq_weight`) ``sum_j sq_weight_j x_j²``, all normalised by nothing
        (an (n, 3) array), or None. `move`: ``(i0, frac)``, X is to be read moved (column j
        as ``(1 - frac_j) X[:, i0_j] + frac_j X[:, i0_j + 1]``, the drift tracker's shift
        of a train), folded into the matrices (see :meth:`_moved_plan`).
        """
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        n = X.shape[0]
        if 0 < n < MIN_ROWS:  # see MIN_ROWS: the same kernel as in any batch
            lp, nov = self._run(np.repeat(X, MIN_ROWS, axis=0), novelty, members, sq_weight,
                                move)
            return lp[:n], None if nov is None else nov[:n]
        plan = self._plan(X.dtype, novelty, members)
        sqw = None
        if plan.novelty and sq_weight is not None:
            sqw = np.asarray(sq_weight, dtype=X.dtype)
        if move is not None:
            plan = self._moved_plan(plan, move, sqw, X.dtype)
        C = self.W2.shape[-1] if self.W2.size else len(self.bias)
        M = len(plan.mats) + int(plan.linear)
        lp = np.empty((n, M, C) if members else (n, C), dtype=X.dtype if members else np.float64)
        has_content = bool(self.n_content) or self.content_matrix is not None
        width = 5 if self.n_smooth else (4 if has_content else 3)
        nov = np.empty((n, width), dtype=np.float64) if plan.novelty else None
        if nov is not None and width == 5 and not has_content:
            nov[:, 3] = np.nan
        pool, controller = _parallel() if n >= PARALLEL_MIN_SPECTRA else (None, None)
        if pool is None:
            if n:
                self._block(plan, X, 0, n, lp, nov, members, sqw)
            return lp, nov
        k = max(int(np.ceil(n / BLOCK_ROWS)), 2 * available_cores())
        edges = np.linspace(0, n, min(k, n // MIN_ROWS) + 1).astype(int)
        with controller.limit(limits=1, user_api="blas"):
            list(pool.map(lambda ab: self._block(plan, X, ab[0], ab[1], lp, nov, members, sqw),
                          zip(edges[:-1], edges[1:])))
        return lp, nov

    def _block(self, plan: _Plan, X, a, b, lp_out, nov_out, members, sq_weight=None):
        """Rows a:b of X through the whole path, into ``lp_out[a:b]`` and ``nov_out[a:b]``."""
        n = b - a
        xb = X[a:b]
        h, nz, ns = self.n_hidden, int(self.normalize), plan.n_side
        R = len(plan.mats)
        dtype = X.dtype
        side = None
        if R:
            Z = _scratch_array("Z", (R, n, plan.mats[0].shape[1]), dtype)
            for r, W in enumerate(plan.mats):
                lo, hi = plan.slices[r]
                np.matmul(xb[:, lo:hi], W, out=Z[r])
            if ns and plan.fused:
                side = Z[:, :, h:h + ns].sum(axis=0)
        if plan.keeps:
            S = _scratch_array("S", (len(plan.keeps), n, plan.keeps[0].shape[1]), dtype)
            for j, W in enumerate(plan.keeps):
                u, v = plan.slices[R + j]
                np.matmul(xb[:, u:v], W, out=S[j])
            rest = S[:, :, :ns].sum(axis=0)
            side = rest if side is None else np.add(side, rest, out=side)
        inv = None
        if self.normalize:
            inv = (1.0 / np.maximum(side[:, 0], TINY_TOTAL)).astype(dtype)
        C = lp_out.shape[-1]
        out = np.empty((R + int(plan.linear), n, C), dtype=dtype)
        if R:
            # the hidden layer on the whole rows of Z (contiguous: 2-3x faster than on the
            # hidden columns alone); side columns and padding meet zero rows of W2
            if inv is not None:
                Z *= inv[None, :, None]
            if self.activation == "relu":
                np.maximum(Z, plan.neg_b1[:, None, :], out=Z)
            else:
                Z += plan.b1[:, None, :]
                np.tanh(Z, out=Z)
            np.matmul(Z, plan.W2, out=out[:R])
            out[:R] += plan.out_bias[:, None, :]
        if plan.linear:
            lin = side[:, nz:nz + self.n_linear]
            if inv is not None:
                lin = lin * inv[:, None]
            np.add(lin, plan.lin_bias, out=out[R])
        if plan.novelty:
            first = nz + (self.n_linear if plan.linear else 0)
            k = self.n_novelty - self.n_content - self.n_smooth
            proj = side[:, first:first + k]
            nov_out[a:b, 0] = np.einsum("ij,ij->i", proj, proj)
            if self.n_smooth:
                sm = side[:, first + k:first + k + self.n_smooth]
                nov_out[a:b, 4] = np.einsum("ij,ij->i", sm, sm)
            if self.n_content:
                cont = side[:, first + k + self.n_smooth:first + self.n_novelty]
                nov_out[a:b, 3] = np.einsum("ij,ij->i", cont, cont)
            elif self.content_matrix is not None:  # from the subspace coordinates
                cont = proj @ plan.content_matrix
                nov_out[a:b, 3] = np.einsum("ij,ij->i", cont, cont)
            nov_out[a:b, 1] = side[:, 0] if nz else np.nan
            if sq_weight is not None:
                nov_out[a:b, 2] = (_weighted_squares(xb, sq_weight) if plan.sq is None
                                   else _weighted_squares(xb, *plan.sq))
        _log_softmax_last(out)
        if members:
            lp_out[a:b] = out.transpose(1, 0, 2)
            return
        # the combination of ensemble._stacking.combine, member by member
        np.maximum(out, LOGP_FLOOR, out=out)
        if self.combination == "vote":
            total = max(float(np.sum(plan.weights)), np.finfo(float).tiny)
            np.exp(out, out=out)
            p = np.tensordot(plan.weights, out, axes=(0, 0)) / dtype.type(total)
            s = np.log(np.maximum(p, np.finfo(np.float32).tiny))
        else:
            s = np.tensordot(plan.weights, out, axes=(0, 0))
        s = (s + self.bias) / self.temperature
        s -= s.max(axis=1, keepdims=True)
        s -= np.log(np.exp(s).sum(axis=1, keepdims=True))
        lp_out[a:b] = s

    def member_log_proba(self, X: np.ndarray) -> np.ndarray:
        """Per-member log-probabilities (n, R + linear, C), the linear member last."""
        return self._run(X, novelty=False, members=True)[0]

    def log_proba(self, X: np.ndarray, move=None) -> np.ndarray:
        """Calibrated log-probabilities of the states (n, C); no novelty columns computed.

        `move`: see :meth:`_run`.
        """
        return self._run(X, novelty=False, members=False, move=move)[0]

    def log_proba_and_novelty(self, X: np.ndarray, sq_weight=None, move=None):
        """Calibrated log-probabilities (n, C) and the novelty sums (n, 3 or 4) or None.

        Per spectrum, reduced inside each block: the sum of squares of the raw spectrum's
        coordinates in the known subspace, its total over the used points (NaN when the
        model does not normalise), ``sum_j sq_weight_j x_j²`` (NaN without `sq_weight`)
        and, with a peak-content test, the sum of squares of its content columns;
        :meth:`NoveltyModel.score_sums
        <specstate.ensemble._novelty.NoveltyModel.score_sums>` turns them into the score.
        """
        nov = self._run(X, novelty=True, members=False, sq_weight=sq_weight, move=move)
        if nov[1] is not None and sq_weight is None:
            nov[1][:, 2] = np.nan
        return nov

    def to_arrays(self) -> dict:
        """Plain arrays for the model file."""
        out = {
            "lo": self.lo, "hi": self.hi, "b1": self.b1, "W2": self.W2, "b2": self.b2,
            "weights": self.weights, "bias": self.bias,
            "temperature": np.float64(self.temperature),
            "sum_slices": np.asarray(self.sum_slices, dtype=np.int64).reshape(-1, 2),
            "n_hidden_units": np.int64(self.n_hidden_units),
            "n_novelty": np.int64(self.n_novelty),
            "n_content": np.int64(self.n_content),
            "n_smooth": np.int64(self.n_smooth),
        }
        if self.content_matrix is not None:
            out["content_matrix"] = np.asarray(self.content_matrix, np.float64)
        if self.linear_bias is not None:
            out["linear_bias"] = self.linear_bias
        for r, W in enumerate(self.W1):
            out[f"W1_{r:03d}"] = W
        for k, keep in enumerate(self.sum_keep):
            out[f"sum_keep_{k:03d}"] = keep
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, attrs: dict) -> FoldedNetworks:
        """Rebuild from :meth:`to_arrays` output and the attributes (combination, ...)."""
        R = len(arrays["lo"])
        n_sum = len(arrays["sum_slices"])
        return cls(
            lo=np.asarray(arrays["lo"]), hi=np.asarray(arrays["hi"]),
            W1=[np.asarray(arrays[f"W1_{r:03d}"]) for r in range(R)],
            b1=np.asarray(arrays["b1"]), W2=np.asarray(arrays["W2"]), b2=np.asarray(arrays["b2"]),
            weights=np.asarray(arrays["weights"]), bias=np.asarray(arrays["bias"]),
            temperature=float(arrays["temperature"]), combination=str(attrs["combination"]),
            normalize=bool(attrs["normalize"]), activation=str(attrs["activation"]),
            sum_slices=np.asarray(arrays["sum_slices"]).reshape(-1, 2),
            sum_keep=[np.asarray(arrays[f"sum_keep_{k:03d}"]) for k in range(n_sum)],
            n_hidden_units=int(arrays["n_hidden_units"]),
            linear_bias=np.asarray(arrays["linear_bias"]) if "linear_bias" in arrays else None,
            n_novelty=int(arrays.get("n_novelty", 0)),
            n_content=int(arrays.get("n_content", 0)),
            n_smooth=int(arrays.get("n_smooth", 0)),
            content_matrix=(np.asarray(arrays["content_matrix"]) if "content_matrix" in arrays
                            else None),
        )

    def attrs(self) -> dict:
        """Scalar settings for the model file."""
        return {
            "combination": self.combination,
            "normalize": bool(self.normalize),
            "activation": self.activation,
        }
