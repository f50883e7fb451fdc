"""Plain-text tables for the terminal: a fitted classifier's regions."""

from __future__ import annotations

import numpy as np

__all__ = ["regions_table"]

# Weights below this are shown as "-" (the region does not take part in the vote).
NEGLIGIBLE_WEIGHT = 1e-3


def _fmt(value: float, spec: str) -> str:
    return "n/a" if value is None or not np.isfinite(value) else format(value, spec)


def regions_table(clf, *, max_rows: int | None = None) -> str:
    """The regions of a fitted classifier as an aligned text table.

    Parameters
    ----------
    clf : SpectraClassifier
        A fitted classifier (``regions_``, ``axis_unit_``).
    max_rows : int, optional
        Show at most this many regions, those of highest weight (in axis order); a last line
        says how many were left out.

    Returns
    -------
    str
        One line per region: number, start–stop with unit, points, separability, weight.

    Examples
    --------
    >>> print(regions_table(clf))  # doctest: +SKIP
      #  region (deg)       points  separability  weight
      1   9.500 – 10.612      268          0.95    0.31
    """
    regions = list(clf.regions_)
    unit = getattr(clf, "axis_unit_", "") or ""
    order = list(range(len(regions)))
    hidden = 0
    if max_rows is not None and len(regions) > max_rows:
        weights = np.nan_to_num([r.weight for r in regions], nan=0.0)
        order = sorted(np.argsort(-weights, kind="stable")[:max_rows].tolist())
        hidden = len(regions) - max_rows
    head = f"region ({unit})" if unit else "region"
    # numbered from 1, as the fit plan's member weights ("region 1", ...)
    rows = [(f"{k + 1:>3}", f"{regions[k].start:9.3f} – {regions[k].stop:<9.3f}",
             f"{regions[k].n_points:>6}", f"{_fmt(regions[k].separability, '.2f'):>12}",
             "     -" if (regions[k].weight or 0) < NEGLIGIBLE_WEIGHT
             else f"{_fmt(regions[k].weight, '.3f'):>6}") for k in order]
    lines = [f"{'#':>3}  {head:<21}  {'points':>6}  {'separability':>12}  {'weight':>6}"]
    lines += [f"{a}  {b:<21}  {c}  {d}  {e}" for a, b, c, d, e in rows]
    if hidden:
        lines.append(f"     ... and {hidden} regions of lower weight")
    return "\n".join(lines)
