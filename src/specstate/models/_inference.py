"""The fast prediction path, numpy only: one matmul per region on a strided view of X.

All linear preprocessing (high-pass baseline, pooling, masking, standardisation) is folded
into each region's first-layer matrix ``W_r`` at fit time. Per-spectrum normalisation (by
the spectrum's total intensity, which removes beam intensity / SASE pulse-energy changes)
is one extra column of ones in each ``W_r``: the same matmul yields the region sums, and the
projections are divided by their total. A spectrum costs one read of its points.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import numpy as np

from ._weighting import combine

__all__ = ["FoldedNetworks", "shift_rows", "estimate_shift"]

#: Smallest total intensity a spectrum may have before normalisation (avoids 0 division).
TINY_TOTAL = 1e-30
#: Grid step (points) of the drift search before the parabolic refinement.
DRIFT_GRID_STEP = 0.25
#: Batches of at least this many spectra spread their per-region products over the cores.
PARALLEL_MIN_SPECTRA = 256

_pool_lock = threading.Lock()
_pool_state: dict = {}
# Per-thread scratch arrays of the prediction path, reused from call to call: a fresh
# multi-MB array per call is a fresh mmap whose pages fault in on every train (measured:
# predict ran at ~160k spectra/s until glibc raised its mmap threshold, ~250k/s after).
_scratch = threading.local()


def _scratch_array(name: str, shape: tuple, dtype) -> np.ndarray:
    """A scratch array of this thread, reused while shape and dtype stay the same."""
    arrays = _scratch.__dict__.setdefault("arrays", {})
    a = arrays.get(name)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = arrays[name] = np.empty(shape, dtype=dtype)
    return a


def _workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _parallel():
    """A thread pool over the cores and a BLAS thread controller (made once per process).

    The per-region products run one per core, each with a single BLAS thread: BLAS's own
    threads synchronise at every call, and on a busy machine a call then waits for a
    descheduled partner thread (measured: a one-column product went from 0.1 to 5 ms).
    Numpy releases the GIL inside matmul, so the products truly run in parallel.
    """
    pid = os.getpid()
    with _pool_lock:
        if _pool_state.get("pid") != pid:  # new process (or a fork): fresh pool
            from concurrent.futures import ThreadPoolExecutor

            from threadpoolctl import ThreadpoolController

            workers = _workers()
            _pool_state.update(
                pid=pid,
                pool=ThreadPoolExecutor(workers, thread_name_prefix="specstate") if workers > 1
                else None,
                controller=ThreadpoolController(),
            )
        return _pool_state["pool"], _pool_state["controller"]


def shift_rows(W: np.ndarray, shift: float) -> np.ndarray:
    """Weights for data shifted by `shift` points: ``W'[i] = W[i - shift]`` (linear, zero fill)."""
    if shift == 0:
        return W
    m = W.shape[0]
    src = np.arange(m) - shift
    i0 = np.floor(src).astype(np.int64)
    frac = (src - i0).astype(W.dtype)[:, None]
    pad = np.zeros((m + 2, W.shape[1]), W.dtype)
    pad[1:-1] = W
    j0 = np.clip(i0 + 1, 0, m + 1)
    j1 = np.clip(i0 + 2, 0, m + 1)
    return pad[j0] * (1 - frac) + pad[j1] * frac


def _shifted(v, s):
    idx = np.arange(v.size) - s
    return np.interp(idx, np.arange(v.size), v, left=v[0], right=v[-1])


def estimate_shift(mean, template, contrast, weight, max_shift):
    """Shift (points) of a batch's mean spectrum against the training templates.

    Fits ``mean ≈ a·T(i − s) + b·D(i − s)`` (T the training mean, D the difference between
    the states, so a batch with another mix of states is not mistaken for a shift) by
    weighted least squares for each s on a grid, refined by a parabola.
    """
    grid = np.arange(-max_shift, max_shift + DRIFT_GRID_STEP / 2, DRIFT_GRID_STEP)
    cost = np.empty(grid.size)
    sw = np.sqrt(weight)
    for k, s in enumerate(grid):
        basis = np.stack([_shifted(template, s), _shifted(contrast, s)], axis=1) * sw[:, None]
        coef, *_ = np.linalg.lstsq(basis, mean * sw, rcond=None)
        cost[k] = np.sum((basis @ coef - mean * sw) ** 2)
    i = int(np.argmin(cost))
    s = float(grid[i])
    if 0 < i < grid.size - 1:
        den = cost[i - 1] - 2 * cost[i] + cost[i + 1]
        if den > 0:
            s += 0.5 * DRIFT_GRID_STEP * (cost[i - 1] - cost[i + 1]) / den
    return s


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
class FoldedNetworks:
    """Fitted region networks with the preprocessing folded in (numpy only).

    Attributes
    ----------
    lo, hi : numpy.ndarray of int of shape (R,)
        Slice of the points each region's first layer reads (widened by the baseline
        kernel and the drift margin).
    W1 : list of numpy.ndarray of shape (hi - lo, h + normalize), float32
        Folded first layers; the last column, when `normalize`, holds the region core's
        kept points (ones) to sum the spectrum's total intensity.
    b1 : (R, h); W2 : (R, h, C); b2 : (R, C)
        The rest of each region's network.
    weights : (R,); bias : (C,); temperature : float; combination : {'logit', 'vote'}
        How the regions are combined (see :func:`~specstate.models._weighting.combine`).
    sum_slices : numpy.ndarray of int of shape (k, 2)
        Parts of the axis (not in an active region's core) whose intensity still counts in
        the total; their kept-point masks are `sum_keep`.
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
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_hidden(self) -> int:
        """Hidden units per region."""
        return int(self.b1.shape[1])

    def _weights_for(self, dtype, shift):
        key = (np.dtype(dtype).str, float(shift))
        if key not in self._cache:
            h = self.n_hidden
            mats = []
            for W in self.W1:
                W = W.astype(dtype, copy=False)
                if shift:
                    W = np.concatenate([shift_rows(W[:, :h], shift), W[:, h:]], axis=1)
                mats.append(np.ascontiguousarray(W))
            # (len, 1) matrices: numpy's matrix @ 1-D vector on a strided view does not use
            # BLAS and is ~20x slower than the same product as a one-column matmul
            keeps = [np.ascontiguousarray(k.astype(dtype).reshape(-1, 1)) for k in self.sum_keep]
            if len(self._cache) > 8:
                self._cache.clear()
            self._cache[key] = (mats, keeps, self.b1.astype(dtype), self.W2.astype(dtype),
                                self.b2.astype(dtype))
        return self._cache[key]

    def _first_layer(self, X: np.ndarray, shift: float):
        """First layer without its last addition: ``(A, total, offset)``.

        ``A + offset`` are the activations (R, n, h). For ReLU,
        ``relu(z + b) = max(z, -b) + b``: the ``+ b`` is left to the caller, who folds it into
        the output layer's bias (one pass over the activations saved). A lives in a per-thread
        scratch array that the next call on the same thread overwrites.
        """
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        mats, keeps, b1, _, _ = self._weights_for(dtype, shift)
        h = self.n_hidden
        n = X.shape[0]
        R = len(mats)
        Z = _scratch_array("Z", (R, n, h + int(self.normalize)), np.dtype(dtype))
        S = _scratch_array("S", (len(keeps), n, 1), np.dtype(dtype)) if self.normalize else None
        tasks = [(X[:, self.lo[r]:self.hi[r]], mats[r], Z[r]) for r in range(R)]
        if S is not None:
            sums = zip(self.sum_slices, keeps)
            tasks += [(X[:, a:b], k, S[j]) for j, ((a, b), k) in enumerate(sums)]
        pool, controller = _parallel() if n >= PARALLEL_MIN_SPECTRA else (None, None)
        if pool is None:
            for x, w, out in tasks:
                np.matmul(x, w, out=out)
        else:
            with controller.limit(limits=1, user_api="blas"):
                list(pool.map(lambda t: np.matmul(t[0], t[1], out=t[2]), tasks))
        if self.normalize:
            total = Z[:, :, h].sum(axis=0) + S[:, :, 0].sum(axis=0)
            Z = Z[:, :, :h]
            Z *= (1.0 / np.maximum(total, TINY_TOTAL)).astype(dtype)[None, :, None]
        else:
            total = None
        if self.activation == "relu":
            np.maximum(Z, -b1[:, None, :], out=Z)
            return Z, total, b1
        Z += b1[:, None, :]
        np.tanh(Z, out=Z)
        return Z, total, None

    def region_log_proba(self, X: np.ndarray, shift: float = 0.0) -> np.ndarray:
        """Per-region log-probabilities (n, R, C)."""
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        _, _, _, W2, b2 = self._weights_for(dtype, shift)
        A, _, offset = self._first_layer(X, shift)
        out = np.matmul(A, W2)  # (R, n, C)
        # (A + offset) @ W2 + b2 = A @ W2 + (offset @ W2 + b2)
        out += (b2 if offset is None else b2 + np.einsum("rh,rhc->rc", offset, W2))[:, None, :]
        return _log_softmax_last(out).transpose(1, 0, 2)

    def log_proba(self, X: np.ndarray, shift: float = 0.0) -> np.ndarray:
        """Calibrated log-probabilities of the states (n, C)."""
        lp = self.region_log_proba(X, shift)
        return combine(lp, self.weights, self.bias, self.temperature, self.combination)

    def to_arrays(self) -> dict:
        """Plain arrays for the model file."""
        out = {
            "lo": self.lo, "hi": self.hi, "b1": self.b1, "W2": self.W2, "b2": self.b2,
            "weights": self.weights, "bias": self.bias,
            "temperature": np.float64(self.temperature),
            "sum_slices": np.asarray(self.sum_slices, dtype=np.int64).reshape(-1, 2),
        }
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
        )

    def attrs(self) -> dict:
        """Scalar settings for the model file."""
        return {
            "combination": self.combination,
            "normalize": bool(self.normalize),
            "activation": self.activation,
        }
