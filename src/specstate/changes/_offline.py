"""find_changes: where a whole run changes state, offline."""

from __future__ import annotations

import numpy as np

from ._online import ChangeDetector
from ._projection import as_chunk, project

__all__ = ["find_changes"]

_WHERE = "find_changes"
#: Spectra projected per block: 2,700 x 4,000 float32 is 43 MB, one train; bounded memory
#: for runs of any length.
_BLOCK = 2700


def find_changes(X, axis=None, *, window: int = 50, **kwargs) -> np.ndarray:
    """First spectrum of each new segment of a whole run, without references.

    The run is screened in time order by :class:`ChangeDetector` (same projection, baseline
    and false-alarm control as online; one pass, a block of spectra per matrix product).
    Each change it finds is then placed by an exact least-squares segmentation
    (``ruptures.Dynp``, one break, L2 cost) of the projected spectra around it: from the
    previous change (or ``2 * memory`` spectra before the online estimate) to ``window``
    spectra after the detection, so spectra after the detection, which an online detector
    cannot see, place the break too.

    Parameters
    ----------
    X : array-like of shape (n, n_points), or Spectra
        The run, in time order.
    axis : array-like of shape (n_points,), optional
        Its axis (checked for length).
    window : int, default 50
        A change that completes within this many spectra is a change.
    **kwargs
        Further parameters of :class:`ChangeDetector` (``memory``, ``n_learn``,
        ``n_components``, ``arl_hours``, ``rate``).

    Returns
    -------
    numpy.ndarray of int
        Indices of the first spectrum of each new segment, increasing (empty: no change).

    Raises
    ------
    SpectraFormatError
        Empty input or a wrong axis.
    NonFiniteError
        NaN or infinite values.

    Examples
    --------
    >>> from specstate.datasets import simulate_xrd_ramp
    >>> run = simulate_xrd_ramp(random_state=0)
    >>> find_changes(run)  # doctest: +SKIP
    array([187])
    """
    x, axis, _ = as_chunk(X, axis, _WHERE)
    det = ChangeDetector(window, **kwargs)
    events = []
    for start in range(0, x.shape[0], _BLOCK):
        events += det.update(x[start:start + _BLOCK], axis)
    if not events:
        return np.zeros(0, dtype=np.int64)
    import ruptures

    n = x.shape[0]
    reach = det.max_lag_
    out = []
    previous = 0
    for event in events:
        lo = max(previous, event.index - reach)
        hi = min(n, event.detected_at + window + 1)
        if hi - lo < 4:  # too short to segment: keep the online estimate
            out.append(event.index)
            previous = event.index
            continue
        z, ok = project(x[lo:hi], det._basis)
        z = z[ok]
        z = (z - z.mean(axis=0)) / np.maximum(z.std(axis=0), np.finfo(float).tiny)
        rows = np.flatnonzero(ok) + lo
        algo = ruptures.Dynp(model="l2", min_size=1, jump=1).fit(z)
        brk = algo.predict(n_bkps=1)[0]
        index = int(rows[min(brk, rows.size - 1)])
        out.append(index)
        previous = index
    return np.asarray(out, dtype=np.int64)
