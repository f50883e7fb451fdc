"""Regions of a spectrum: the :class:`Region` dataclass and automatic region discovery."""

from ._discovery import (
    equal_boundaries,
    estimate_peak_width,
    free_points,
    make_regions,
    separability_profile,
    valley_boundaries,
)
from ._region import Region

__all__ = [
    "Region",
    "equal_boundaries",
    "estimate_peak_width",
    "free_points",
    "make_regions",
    "separability_profile",
    "valley_boundaries",
]
