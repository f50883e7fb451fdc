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

from ..ensemble._stacking import combine

__all__ = ["FoldedNetworks"]

#: Smallest total intensity a spectrum may have before normalisation (avoids 0 division).
TINY_TOTAL = 1e-30
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
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_hidden(self) -> int:
        """Hidden units per region."""
        return int(self.n_hidden_units)

    @property
    def n_linear(self) -> int:
        """Columns of the linear member (0: none)."""
        return 0 if self.linear_bias is None else int(len(self.linear_bias))

    def _weights_for(self, dtype):
        key = np.dtype(dtype).str
        if key not in self._cache:
            mats = [np.ascontiguousarray(W.astype(dtype, copy=False)) for W in self.W1]
            # (len, k) matrices: numpy's matrix @ 1-D vector on a strided view does not use
            # BLAS and is ~20x slower than the same product as a one-column matmul
            keeps = [np.ascontiguousarray(k.astype(dtype).reshape(k.shape[0], -1))
                     for k in self.sum_keep]
            self._cache[key] = (mats, keeps, self.b1.astype(dtype), self.W2.astype(dtype),
                                self.b2.astype(dtype))
        return self._cache[key]

    def _first_layer(self, X: np.ndarray):
        """First layer without its last addition: ``(A, offset, linear, novelty)``.

        ``A + offset`` are the activations (R, n, h). For ReLU,
        ``relu(z + b) = max(z, -b) + b``: the ``+ b`` is left to the caller, who folds it into
        the output layer's bias (one pass over the activations saved). A lives in a per-thread
        scratch array that the next call on the same thread overwrites; `linear` (n, C_lin)
        are the linear member's logits and `novelty` (n, k) the novelty projections of the
        normalised spectra (None without them), fresh arrays.
        """
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        mats, keeps, b1, _, _ = self._weights_for(dtype)
        h, nz, nl, nk = self.n_hidden, int(self.normalize), self.n_linear, self.n_novelty
        n = X.shape[0]
        R = len(mats)
        Z = _scratch_array("Z", (R, n, h + nz + nl + nk), np.dtype(dtype))
        S = (_scratch_array("S", (len(keeps), n, nz + nl + nk), np.dtype(dtype)) if keeps
             else None)
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
        side = Z[:, :, h:].sum(axis=0)  # (n, nz + nl)
        if S is not None:
            side += S.sum(axis=0)
        Z = Z[:, :, :h]
        linear = side[:, nz:nz + nl] if nl else None
        novelty = side[:, nz + nl:] if nk else None
        if self.normalize:
            inv = (1.0 / np.maximum(side[:, 0], TINY_TOTAL)).astype(dtype)
            Z *= inv[None, :, None]
            if linear is not None:
                linear = linear * inv[:, None]
            if novelty is not None:
                novelty = novelty * inv[:, None]
        if linear is not None:
            linear = linear + self.linear_bias.astype(dtype)
        if self.activation == "relu":
            np.maximum(Z, -b1[:, None, :], out=Z)
            return Z, b1, linear, novelty
        Z += b1[:, None, :]
        np.tanh(Z, out=Z)
        return Z, None, linear, novelty

    def member_log_proba(self, X: np.ndarray) -> np.ndarray:
        """Per-member log-probabilities (n, R + linear, C), the linear member last."""
        return self.forward(X)[0]

    def forward(self, X: np.ndarray):
        """Per-member log-probabilities (n, R + linear, C) and the novelty projections."""
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        _, _, _, W2, b2 = self._weights_for(dtype)
        A, offset, linear, novelty = self._first_layer(X)
        out = np.matmul(A, W2)  # (R, n, C)
        # (A + offset) @ W2 + b2 = A @ W2 + (offset @ W2 + b2)
        out += (b2 if offset is None else b2 + np.einsum("rh,rhc->rc", offset, W2))[:, None, :]
        if linear is not None:
            out = np.concatenate([out, linear[None].astype(out.dtype)], axis=0)
        return _log_softmax_last(out).transpose(1, 0, 2), novelty

    def log_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated log-probabilities of the states (n, C)."""
        return self.log_proba_and_novelty(X)[0]

    def log_proba_and_novelty(self, X: np.ndarray):
        """Calibrated log-probabilities (n, C) and the novelty projections (n, k) or None."""
        lp, novelty = self.forward(X)
        return combine(lp, self.weights, self.bias, self.temperature, self.combination), novelty

    def to_arrays(self) -> dict:
        """Plain arrays for the model file."""
        out = {
            "lo": self.lo, "hi": self.hi, "b1": self.b1, "W2": self.W2, "b2": self.b2,
            "weights": self.weights, "bias": self.bias,
            "temperature": np.float64(self.temperature),
            "sum_slices": np.asarray(self.sum_slices, dtype=np.int64).reshape(-1, 2),
            "n_hidden_units": np.int64(self.n_hidden_units),
            "n_novelty": np.int64(self.n_novelty),
        }
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
        )

    def attrs(self) -> dict:
        """Scalar settings for the model file."""
        return {
            "combination": self.combination,
            "normalize": bool(self.normalize),
            "activation": self.activation,
        }
