"""Simulated experiments with ground truth, for tests, demos and benchmarks.

* :func:`simulate_xrd_ramp` — powder XRD of a diamond-anvil-cell pressure ramp (bcc → hcp Fe
  with a compressing B1 oxide, or a pure lattice jump of the oxide at its spin crossover);
* :func:`simulate_xes` — single-shot Fe Kβ emission spectra of a pump-probe experiment, with
  :func:`xes_expected_counts`, :func:`xes_expected_counts_for` and :func:`xes_noise_limit`
  (the photon-statistics ceiling of any shot-by-shot classifier).

Everything is computed with numpy from textbook physics; nothing is downloaded.
"""

from ._eos import eos_pressure, eos_volume
from ._xes import (
    XES_LINES,
    simulate_xes,
    xes_expected_counts,
    xes_expected_counts_for,
    xes_line_shape,
    xes_noise_limit,
)
from ._xrd import XRD_VARIANTS, simulate_xrd_ramp

__all__ = [
    "simulate_xrd_ramp",
    "XRD_VARIANTS",
    "simulate_xes",
    "xes_expected_counts",
    "xes_expected_counts_for",
    "xes_noise_limit",
    "xes_line_shape",
    "XES_LINES",
    "eos_pressure",
    "eos_volume",
]
