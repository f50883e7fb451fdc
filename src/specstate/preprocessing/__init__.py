"""Preprocessing of spectra as scikit-learn transformers.

Every transformer works on (n_spectra, n_points) arrays, keeps float32 as float32, and is
vectorised over spectra (except the iterative :class:`AsLSBaseline`). Families:

* baselines: :class:`HighPassBaseline` (linear, fast, for live data; exposes its adjoint),
  :class:`AsLSBaseline` (asymmetric least squares / arPLS through pybaselines, slow);
* axis: :class:`RangeCut` (crop), :class:`MaskRanges` (detector gaps, Bragg spots),
  :class:`Resample` (linear interpolation onto a grid);
* scale: :class:`Normalize` (max, area, SNV, L2), :class:`MonitorNormalizer` and
  :func:`normalize_by_monitor` (pulse energy);
* smooth: :class:`SavitzkyGolay` (smoothing and derivatives).

:func:`apply` runs any of them, or a Pipeline, on :class:`~specstate.Spectra`.

Examples
--------
>>> import numpy as np
>>> from sklearn.pipeline import make_pipeline
>>> from specstate.preprocessing import HighPassBaseline, Normalize
>>> pipe = make_pipeline(HighPassBaseline(width=50), Normalize("max"))
>>> pipe.fit_transform(np.random.default_rng(0).random((3, 400), dtype=np.float32)).dtype
dtype('float32')
"""

from ._apply import apply
from ._asls import AsLSBaseline
from ._highpass import HighPassBaseline
from ._mask import MaskRanges
from ._monitor import MonitorNormalizer, normalize_by_monitor
from ._normalize import Normalize
from ._range_cut import RangeCut
from ._resample import Resample
from ._savgol import SavitzkyGolay

__all__ = [
    "AsLSBaseline",
    "HighPassBaseline",
    "MaskRanges",
    "MonitorNormalizer",
    "Normalize",
    "RangeCut",
    "Resample",
    "SavitzkyGolay",
    "apply",
    "normalize_by_monitor",
]
