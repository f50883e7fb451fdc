"""Simulated experiments with ground truth, for tests, demos and benchmarks.

* :func:`simulate_xrd_ramp` — powder XRD of a diamond-anvil-cell pressure ramp (bcc → hcp Fe
  with a compressing B1 oxide, or a pure lattice jump of the oxide at its spin crossover);
* :func:`simulate_xes` — single-shot Fe Kβ emission spectra of a pump-probe experiment, with
  :func:`xes_expected_counts`, :func:`xes_expected_counts_for` and :func:`xes_noise_limit`
  (the photon-statistics ceiling of any shot-by-shot classifier).

For label-free change detection (:class:`specstate.ChangeDetector`):
:func:`stationary_stream` (nothing changes, every nuisance moves), :func:`simulate_xrd_melt`
(a ramp whose sample melts) and :func:`simulate_xes_pump_onset` (the pump starts mid-run).

For the novelty score (spectra unlike every fitted state): :func:`simulate_xes_third_species`
(a third species appears mid-run in the pump-probe XES stream), :func:`simulate_empty_shots`
(shots with no sample in the beam, XES or XRD) and the melt of :func:`simulate_xrd_melt`.

Everything is computed with numpy from textbook physics; nothing is downloaded.
"""

from ._changes import (
    EMPTY_SIMULATORS,
    simulate_empty_shots,
    simulate_xes_pump_onset,
    simulate_xes_third_species,
    simulate_xrd_melt,
    stationary_stream,
)
from ._eos import eos_pressure, eos_volume
from ._xes import (
    UNKNOWN_SPECIES,
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
    "stationary_stream",
    "simulate_xrd_melt",
    "simulate_xes_pump_onset",
    "simulate_xes_third_species",
    "simulate_empty_shots",
    "EMPTY_SIMULATORS",
    "UNKNOWN_SPECIES",
]
