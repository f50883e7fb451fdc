"""The :class:`Region` dataclass: one contiguous part of a spectrum's axis."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Region"]


@dataclass(frozen=True)
class Region:
    """A contiguous part of the axis where one small network looks at the spectra.

    Parameters
    ----------
    start, stop : float
        First and last axis value of the region, in axis units (both inclusive).
    start_index, stop_index : int
        The same as point indices, ``stop_index`` exclusive (a Python slice).
    separability : float, default=nan
        How well the region alone tells the states apart on held-out spectra: the
        chance-corrected balanced accuracy of its network, 0 (chance) to 1 (perfect).
    weight : float, default=nan
        Weight of the region in the combined vote (see ``SpectraClassifier.weights_``).

    Examples
    --------
    >>> r = Region(10.0, 12.5, 0, 268)
    >>> r.n_points
    268
    """

    start: float
    stop: float
    start_index: int
    stop_index: int
    separability: float = float("nan")
    weight: float = float("nan")

    @property
    def n_points(self) -> int:
        """Number of points in the region."""
        return self.stop_index - self.start_index

    @property
    def slice(self) -> slice:
        """The region as a slice of the points."""
        return slice(self.start_index, self.stop_index)

    def to_dict(self) -> dict:
        """The region's fields as a plain dict (for tables and JSON)."""
        return asdict(self)
