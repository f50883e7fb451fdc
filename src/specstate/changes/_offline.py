"""find_changes: where a whole run changes state, offline."""

from __future__ import annotations

import numpy as np

from ._online import ChangeDetector
from ._projection import as_chunk

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
    (``ruptures.Dynp``, one break, L2 cost) of the detector's whitened innovations (the
    same projection, baseline and noise model) from the previous change, or ``2 * memory``
    spectra before the online estimate, to the detection: white noise before the change, a
    shifted mean after it, placed over every spectrum rather than the detector's grid of
    lags.

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
    x, axis, _, _ = as_chunk(X, axis, _WHERE)
    det = ChangeDetector(window, **kwargs)
    det._record = []  # the whitened innovations, for the placement below
    events = []
    for start in range(0, x.shape[0], _BLOCK):
        events += det.update(x[start:start + _BLOCK], axis)
    if not events:
        return np.zeros(0, dtype=np.int64)
    import ruptures

    pos = np.concatenate([p for p, _ in det._record])
    out = []
    previous = 0
    for event in events:
        # innovations since the previous change (or the last 2 * memory) up to the
        # detection: white noise, then a shifted mean from the change on; the exact
        # one-break L2 segmentation places it over every spectrum, not only the lag grid
        rows = np.flatnonzero((pos >= max(previous, event.index - det.max_lag_))
                              & (pos <= event.detected_at))
        # innovations of different learning stretches never mix: take the last stretch
        stretch = _last_stretch(det._record, rows)
        if stretch is None or stretch[0].size < 3:
            out.append(event.index)
            previous = event.index
            continue
        where, u = stretch
        brk = ruptures.Dynp(model="l2", min_size=1, jump=1).fit(u).predict(n_bkps=1)[0]
        index = int(where[min(brk, where.size - 1)])
        out.append(index)
        previous = index
    return np.asarray(out, dtype=np.int64)


def _last_stretch(record, rows):
    """Positions and innovations of the last run of `rows` with one noise model.

    `rows` index the concatenated record; going back from the last entry, entries are
    taken while their width (the model's dimension) stays the same.
    """
    if rows.size == 0:
        return None
    sizes = np.cumsum([0] + [p.size for p, _ in record])
    parts, width = [], None
    for i in range(len(record) - 1, -1, -1):
        lo, hi = sizes[i], sizes[i + 1]
        sel = rows[(rows >= lo) & (rows < hi)] - lo
        if sel.size == 0:
            if parts:
                break
            continue
        p, u = record[i]
        if width is not None and u.shape[1] != width:
            break
        width = u.shape[1]
        parts.append((p[sel], u[sel]))
    if not parts:
        return None
    parts.reverse()
    return (np.concatenate([p for p, _ in parts]),
            np.concatenate([u for _, u in parts]).astype(np.float64))
