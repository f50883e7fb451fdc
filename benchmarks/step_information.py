"""How much evidence of a lasting step ChangeDetector's test can gather, by design.

Issue 11 asks for a detection delay within 2x that of a CUSUM oracle that knows the pre-
and post-change spectra. The oracle detects the benchmark's changes at their first spectrum
(delay 0), so the criterion means: detect by the second changed spectrum. This script
computes, without simulation, the evidence a step of unit size leaves (in single-spectrum
equivalents: the non-centrality of the test over a lag ``l``, per unit of the step's
squared Mahalanobis size per spectrum) for the detector's baseline tracker, under each
candidate test:

- ``boxcar``: the test the detector uses, ``|sum of the last l innovations|^2 / l``;
- ``matched``: the step-matched GLR (Willsky & Jones 1976) on the innovations, weights = the
  tracker's innovation response to a step; the best any test can do if the innovations are
  white (the detector's null model, which its threshold is calibrated for);
- ``frozen``: the last ``l`` spectra against the baseline forecast from before them (the
  pre-change model kept, multi-step forecast), with the variance of its sum under the same
  null model (white innovations);
- ``frozen_white_inputs``: the same sum, its variance taken under white prewhitened inputs
  (a null with no drift at all, which the tracker is there to absorb: not one the
  threshold could rely on);
- ``known_mean``: a CUSUM/GLR against a known, fixed pre-change mean, the AR(1) noise known
  (``1 + (l - 1)(1 - phi)^2``: with grains correlated from one spectrum to the next, a
  lasting step adds little after its first spectrum, whatever the baseline).

Then the chance of detection by each delay, for a step of squared size `ncp` per spectrum in
`dims` dimensions against `threshold` (the XES onset: 33 per shot, 15 dimensions, ~88;
benchmarks/README.md).

Usage::

    python benchmarks/step_information.py [--memory 25] [--phi 0] [--ncp 33] \
        [--dims 15] [--threshold 88]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats
from scipy.signal import lfilter

from specstate import ChangeDetector


def information(memory: int, phi: float, n_taps: int = 4000) -> dict[str, np.ndarray]:
    """Step evidence per lag ``1..2 memory`` for each test (single-spectrum equivalents)."""
    det = ChangeDetector(memory=memory)
    det._plan(64)  # the tracker's filter (innovations e = num / den of the inputs)
    num, den = np.convolve(det._num, [1.0, -phi]), det._den  # prewhitening, then tracker
    lags = np.arange(1, det.max_lag_ + 1)
    impulse = np.zeros(n_taps)
    impulse[0] = 1.0
    h = lfilter(num, den, impulse)  # innovations of a unit impulse in the input
    g = lfilter(num, den, np.ones(n_taps))  # ... of a unit step
    psi = lfilter(den, num, impulse)[: lags[-1]]  # input per innovation (psi weights)
    c = np.cumsum(psi)  # sum of the j-step forecast errors, j = 1..l, per innovation
    out = {"lag": lags, "boxcar": np.cumsum(g[: lags[-1]]) ** 2 / lags,
           "matched": np.cumsum(g[: lags[-1]] ** 2)}
    # the step prewhitened (the input of the tracker) is 1, 1 - phi, 1 - phi, ...
    step = np.r_[1.0, np.full(lags[-1] - 1, 1.0 - phi)]
    out["known_mean"] = np.cumsum(step**2)  # known pre-change mean and AR(1) noise
    # a step from the forecast origin on: the forecast does not see it, so the l forecast
    # errors are the prewhitened step itself; their sum squared over the sum's variance
    signal = np.cumsum(step) ** 2
    frozen = signal / np.cumsum(c**2)
    white_in = np.empty(lags.size)
    for i, lag in enumerate(lags):
        d = lfilter(num, den, np.r_[c[:lag], np.zeros(n_taps)])  # the sum's input weights
        white_in[i] = signal[i] / (np.sum(d**2) / np.sum(h**2))
    out["frozen"], out["frozen_white_inputs"] = frozen, white_in
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--memory", type=int, default=25, help="tracker memory (default: window/2)")
    p.add_argument("--phi", type=float, default=0.0, help="AR(1) prewhitening coefficient")
    p.add_argument("--ncp", type=float, default=33.0, help="step size^2 per spectrum")
    p.add_argument("--dims", type=int, default=15)
    p.add_argument("--threshold", type=float, default=88.0)
    a = p.parse_args(argv)
    info = information(a.memory, a.phi)
    names = ["boxcar", "matched", "frozen", "frozen_white_inputs", "known_mean"]
    grid = ChangeDetector(memory=a.memory)
    grid._plan(64)
    print("| lag | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for lag in grid.lags_:
        i = lag - 1
        print(f"| {lag} | " + " | ".join(f"{info[n][i]:.2f}" for n in names) + " |")
    print(f"\nP(detected by delay d) for a step of {a.ncp:g} per spectrum, {a.dims} dims, "
          f"threshold {a.threshold:g} (best single grid lag <= d + 1):\n")
    print("| delay | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for delay in range(6):
        usable = grid.lags_[grid.lags_ <= delay + 1] - 1
        probs = [max(stats.ncx2.sf(a.threshold, a.dims, a.ncp * info[n][j]) for j in usable)
                 for n in names]
        print(f"| {delay} | " + " | ".join(f"{q:.2f}" for q in probs) + " |")


if __name__ == "__main__":
    main()
