"""Label-free change detection: delay and false alarms of ChangeDetector against peers.

Cases (all simulated, truth known):

- XRD pressure ramps (349 patterns x 4,023 points): bcc -> hcp phase change, pure lattice
  jump of the oxide, a melt near the end (``simulate_xrd_ramp``, ``simulate_xrd_melt``);
  a pattern per second, so the false-alarm target is one per 8 h at 1 spectrum/s.
- XES pump onset (``simulate_xes_pump_onset``): single shots, the pump starts at shot
  20,000 of 40,000; 27,000 shots/s.
- Stationary streams (``stationary_stream``): nothing changes, nuisances drawn per stream
  across ranges; >= 10^7 spectra at 27,000 spectra/s; false alarms counted at the default
  target and at one per 10^6 spectra, with the 95 % upper bound on the rate.

Methods:

- ``specstate``: ``ChangeDetector()`` online (delay = detection - true start) and
  ``find_changes`` offline (error = |estimate - true start|).
- ``ruptures-raw``: ``ruptures.Binseg(model='l2')`` on the raw spectra (each divided by its
  total), penalty BIC-like from the measured noise, 2 sigma^2 m log n (offline; XES: the
  4,000 shots around the onset only, ruptures on raw shots being slow).
- ``focus-raw``: FOCuS (``changepoint_online.Focus``, Gaussian, unknown pre-change mean) on
  every raw pixel (divided by the spectrum's total, standardised by the first 50 spectra),
  threshold log(ARL x pixels) (Bonferroni over pixels); online.
- ``oracle``: CUSUM of the exact Poisson log-likelihood ratio of the known pre- and
  post-change expected spectra (ramps: the noise-free run without and with its transition;
  XES: unpumped and pumped shots), threshold log(ARL) (Lorden: ARL >= exp(h)), the same
  target. ``delay_ratio`` compares delays as Lorden's ``T - v + 1`` (spectra seen from the
  first changed one to the alarm, included): (delay + 1) / (oracle_delay + 1).

Usage::

    nice python benchmarks/bench_changes.py               # full (see benchmarks/README.md)
    nice python benchmarks/bench_changes.py --quick       # smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_stream's model

from specstate import ChangeDetector, find_changes
from specstate.datasets import (
    simulate_xes,
    simulate_xrd_melt,
    simulate_xrd_ramp,
    stationary_stream,
    xes_expected_counts_for,
)

XRD_RATE = 1.0  # patterns per second in a DAC ramp
XES_RATE = 27_000.0
ARL_HOURS = 8.0
_XES_RUPTURES_HALF = 2_000


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _ramp(case, seed):
    if case == "melt":
        return simulate_xrd_melt(random_state=seed)
    return simulate_xrd_ramp(variant=case, random_state=seed)


def _online(x, chunk, **kw):
    det = ChangeDetector(**kw)
    events = []
    t = time.perf_counter()
    for i in range(0, x.shape[0], chunk):
        events += det.update(x[i:i + chunk])
    return events, time.perf_counter() - t


def _score_online(events, start, stop, slack):
    """(delay, false alarms): first event inside [start - slack, stop + slack]."""
    inside = [e for e in events if start - slack <= e.index < stop + slack]
    false = [e for e in events if not (start - slack <= e.index < stop + slack)]
    delay = inside[0].detected_at - start if inside else math.nan
    return delay, len(false)


def _cusum_oracle(x, mu0, mu1, arl, start):
    """CUSUM of the exact Poisson log-likelihood ratio of known expected counts.

    `mu0`, `mu1`: expected counts of every spectrum without and with the change (XES: the
    unpumped and pumped shot; a ramp: the same run without its transition and with it, so
    equal before `start`); threshold log(arl), Lorden's bound (ARL >= exp(h)), the same
    target as the detector. Returns (detection index or None, alarms before `start`).
    """
    mu0, mu1 = np.maximum(mu0, 1e-9), np.maximum(mu1, 1e-9)
    llr = np.sum(x * np.log(mu1 / mu0) - (mu1 - mu0), axis=1)
    h, s, false = math.log(arl), 0.0, 0
    for i, v in enumerate(llr):  # the oracle is a reference, not a fast path
        s = max(0.0, s + v)
        if s > h:
            if i < start:
                false += 1
                s = 0.0
                continue
            return i, false
    return None, false


def _ratio(delay, oracle):
    """Delay over the oracle's, both as Lorden's T - v + 1 (spectra seen from the change)."""
    if math.isnan(delay) or math.isnan(oracle):
        return math.nan
    return (delay + 1) / (oracle + 1)


def _ramp_means(case, seed, n):
    """Expected counts of a ramp with and without its change (noise-free, same seed)."""
    if case == "melt":
        mu1 = simulate_xrd_melt(random_state=seed, noise=False).intensity
        mu0 = simulate_xrd_melt(random_state=seed, noise=False, melt=(n - 1, n)).intensity
    else:
        mu1 = simulate_xrd_ramp(variant=case, random_state=seed, noise=False).intensity
        mu0 = simulate_xrd_ramp(variant=case, random_state=seed, noise=False,
                                transition=(n - 1, n)).intensity
    return mu0.astype(np.float64), mu1.astype(np.float64)


def _ruptures_raw(x):
    import ruptures

    y = x / x.sum(axis=1, keepdims=True)
    n, m = y.shape
    sigma2 = float(np.median(np.diff(y, axis=0).var(axis=0)) / 2.0)
    pen = 2.0 * sigma2 * m * math.log(n)
    t = time.perf_counter()
    bkps = ruptures.Binseg(model="l2", jump=1, min_size=2).fit(y).predict(pen=pen)[:-1]
    return np.asarray(bkps), time.perf_counter() - t


def _focus_raw(x, arl, stride=1):
    from changepoint_online import Focus, Gaussian

    y = (x / x.sum(axis=1, keepdims=True))[:, ::stride]
    ref = y[:50]
    z = (y - ref.mean(axis=0)) / np.maximum(ref.std(axis=0), 1e-12)
    thr = math.log(arl * z.shape[1])
    dets = [Focus(Gaussian()) for _ in range(z.shape[1])]
    t = time.perf_counter()
    for i in range(z.shape[0]):
        for d, v in zip(dets, z[i]):
            d.update(float(v))
            if d.statistic() >= thr:
                cp = d.changepoint()
                return i, int(cp["changepoint"]), time.perf_counter() - t
    return None, None, time.perf_counter() - t


def bench_ramps(seeds, focus_stride):
    rows = []
    arl = ARL_HOURS * 3600 * XRD_RATE
    for case in ("phase", "lattice-jump", "melt"):
        for seed in seeds:
            run = _ramp(case, seed)
            start, stop = run.metadata["transition"]
            x = run.intensity
            ev, dt = _online(x, 5, rate=XRD_RATE)
            delay, fa = _score_online(ev, start, stop, 0)
            off = find_changes(x, rate=XRD_RATE)
            err_off = int(np.min(np.abs(off - start))) if off.size else math.nan
            extra_off = int(max(off.size - 1, 0))
            rb, _ = _ruptures_raw(x)
            err_rb = int(np.min(np.abs(rb - start))) if rb.size else math.nan
            mu0, mu1 = _ramp_means(case, seed, x.shape[0])
            det_o, fa_o = _cusum_oracle(x.astype(np.float64), mu0, mu1, arl, start)
            oracle = det_o - start if det_o is not None else math.nan
            row = dict(case=case, seed=seed, window=f"{start}-{stop}", delay=delay,
                       false_alarms=fa, oracle_delay=oracle, oracle_false=fa_o,
                       delay_ratio=_ratio(delay, oracle),
                       offline_error=err_off, offline_extra=extra_off,
                       ruptures_error=err_rb, ruptures_extra=int(max(rb.size - 1, 0)))
            if focus_stride:
                det_at, cp, _ = _focus_raw(x, arl, focus_stride)
                row["focus_delay"] = det_at - start if det_at is not None else math.nan
                row["focus_false"] = int(det_at is not None and det_at < start)
            rows.append(row)
            _log(f"ramp {row}")
    return rows


def bench_xes(seeds, n=40_000, onset=20_000):
    rows = []
    arl = ARL_HOURS * 3600 * XES_RATE
    for seed in seeds:
        off = simulate_xes(n_shots=n, pumped_fraction=0.0, pump_pattern="random",
                           random_state=seed)
        on = simulate_xes(n_shots=n, pumped_fraction=1.0, pump_pattern="random",
                          random_state=seed)
        x = off.intensity.copy()
        x[onset:] = on.intensity[onset:]
        ev, dt = _online(x, 2700)
        delay, fa = _score_online(ev, onset, onset + 1, 5)
        ev_m, _ = _online(x, 2700, memory=2700)
        delay_m, fa_m = _score_online(ev_m, onset, onset + 1, 5)
        # oracle: CUSUM of the exact log-likelihood ratio, known expected counts
        mu0 = xes_expected_counts_for(off, False)
        mu1 = xes_expected_counts_for(off, True)
        det_at, fa_o = _cusum_oracle(x, mu0, mu1, arl, onset)
        oracle = (det_at - onset) if det_at is not None else math.nan
        # ruptures on raw single shots costs ~2 min per 10^4 shots of 300 pixels here: it
        # gets the 4,000 shots around the onset only
        lo = onset - _XES_RUPTURES_HALF
        rb, rb_s = _ruptures_raw(x[lo:onset + _XES_RUPTURES_HALF])
        rb = rb + lo
        rows.append(dict(seed=seed, delay=delay, false_alarms=fa, delay_memory2700=delay_m,
                         false_alarms_memory2700=fa_m,
                         oracle_delay=oracle, oracle_false=fa_o,
                         delay_ratio=_ratio(delay, oracle),
                         offline_error=_err(find_changes(x), onset),
                         ruptures_error=_err(rb, onset), ruptures_extra=max(rb.size - 1, 0),
                         ruptures_s=rb_s, seconds=dt))
        _log(f"xes seed {seed}: {rows[-1]}")
    return rows


def _err(found, start):
    return int(np.min(np.abs(np.asarray(found) - start))) if len(found) else math.nan


def bench_stationary(n_streams, per_stream, seed=0):
    rng = np.random.default_rng(seed)
    totals = {"default": 0, "1e6": 0}
    spectra, seconds = 0, 0.0
    for _ in range(n_streams):
        kw = dict(sase_rms=rng.uniform(0.1, 0.4), background_drift=rng.uniform(0, 0.4),
                  shift_drift=rng.uniform(0, 3), photons_scale=float(np.exp(rng.uniform(
                      np.log(0.3), np.log(3)))))
        det_default = ChangeDetector()
        det_1e6 = ChangeDetector(arl_hours=1e6 / 3600 / XES_RATE)
        for c in stationary_stream(per_stream, random_state=rng.integers(2**31), **kw):
            t = time.perf_counter()
            totals["default"] += len(det_default.update(c))
            seconds += time.perf_counter() - t
            totals["1e6"] += len(det_1e6.update(c))
        spectra += per_stream
        _log(f"stationary {spectra} spectra: {totals} ({kw})")
    out = {}
    for name, arl in (("default", ARL_HOURS * 3600 * XES_RATE), ("1e6", 1e6)):
        k = totals[name]
        upper = stats.chi2.ppf(0.95, 2 * (k + 1)) / 2 / spectra  # one-sided Poisson bound
        out[name] = dict(alarms=k, spectra=spectra, rate_upper95=upper, target_rate=1 / arl)
    out["spectra_per_s"] = spectra / seconds
    return out


def bench_speed(n_trains=20, n_points=4000, pulses=2700):
    """Spectra/s on 2,700 x 4,000-point float32 trains: one row per measurement.

    ``ChangeDetector.update`` with 1 BLAS thread and with 2; the classifier of ``watch``
    (``SpectraClassifier.classify`` with the model's stream tracker, as ``watch`` calls it,
    fitted on simulated XRD patterns as in ``bench_stream.py``) alone; and ``watch``'s own
    handling of a train (``Watcher.process``: classification, summaries, and with
    ``--changes`` the label-free detector on a second thread), without and with
    ``--changes``, both with 1 and 2 BLAS threads; ``find_changes`` offline. The classifier
    gets patterns of a fitted state moved by a point (its tracker has a shift to correct);
    the detector's speed does not depend on the counts (Poisson noise).
    """
    import tempfile

    from bench_stream import _templates, build_model

    from specstate.stream import Watcher
    from specstate.stream.packets import Packet

    rng = np.random.default_rng(0)
    train = rng.poisson(20.0, (pulses, n_points)).astype(np.float32)
    model = build_model(n_points, None)
    patterns = np.roll(_templates(pulses, n_points, 3)["bcc"][0], 1, axis=1)
    rows = []

    def rate(step, threads, name):
        with threadpool_limits(threads, "blas"):
            step()  # warm: the detector learns on the first train
            t = time.perf_counter()
            for _ in range(n_trains):
                step()
            value = n_trains * pulses / (time.perf_counter() - t)
        rows.append(dict(what=name, blas_threads=threads, spectra_per_s=value))

    det = ChangeDetector()
    rate(lambda: det.update(train), 1, "ChangeDetector.update")
    det2 = ChangeDetector()
    rate(lambda: det2.update(train), 2, "ChangeDetector.update")
    tracker = model.stream_tracker()
    rate(lambda: model.classify(patterns, tracker=tracker), 2, "classify (watch's classifier)")
    with tempfile.TemporaryDirectory() as empty:
        for changes in (False, True):
            for threads in (1, 2):
                watcher = Watcher(model, empty, changes=changes or None)
                ids = iter(range(10**9))
                rate(lambda w=watcher, t=ids: w.process(Packet(next(t), spectra=patterns)),
                     threads,
                     "Watcher.process" + (" --changes" if changes else ""))
    run = np.concatenate([train] * 8)
    with threadpool_limits(1, "blas"):
        t = time.perf_counter()
        find_changes(run)
        offline = run.shape[0] / (time.perf_counter() - t)
    rows.append(dict(what="find_changes", blas_threads=1, spectra_per_s=offline,
                     s_per_1e6=1e6 / offline))
    return rows


def _fmt(v):
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.3g}"
    return str(v)


def _table(rows, cols):
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few seeds, 10^6 stationary spectra")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--stationary", type=float, default=1e7, help="stationary spectra")
    p.add_argument("--focus-stride", type=int, default=1,
                   help="FOCuS on every N-th pixel (0: skip; pure Python, ~40 us/update)")
    p.add_argument("--out", help="write every number as JSON")
    a = p.parse_args(argv)
    seeds = list(range(2 if a.quick else a.seeds))
    n_stat = int(1e6 if a.quick else a.stationary)
    with threadpool_limits(1, "blas"):
        ramps = bench_ramps(seeds, a.focus_stride if not a.quick else 8)
        xes = bench_xes(seeds[:2] if a.quick else seeds[:3])
        stat = bench_stationary(max(1, n_stat // 1_000_000), 1_000_000)
    speed = bench_speed(4 if a.quick else 20)
    print("## XRD ramps (a pattern per second; false-alarm target 1 per 8 h)\n")
    cols = ["case", "seed", "window", "delay", "false_alarms", "oracle_delay",
            "delay_ratio", "offline_error",
            "offline_extra", "ruptures_error", "ruptures_extra"]
    if "focus_delay" in ramps[0]:
        cols += ["focus_delay", "focus_false"]
    print(_table(ramps, cols))
    print("\n## XES pump onset at shot 20,000 (27,000 shots/s; target 1 per 8 h)\n")
    print(_table(xes, ["seed", "delay", "false_alarms", "delay_memory2700",
                       "false_alarms_memory2700", "oracle_delay", "oracle_false", "delay_ratio",
                       "offline_error", "ruptures_error", "ruptures_extra", "ruptures_s"]))
    print("\n## Stationary streams (nuisances drawn per stream of 10^6 spectra)\n")
    rows = [dict(target=k, **v) for k, v in stat.items() if isinstance(v, dict)]
    print(_table(rows, ["target", "target_rate", "alarms", "spectra", "rate_upper95"]))
    print(f"\nChangeDetector.update (64-point spectra, 1 BLAS thread): "
          f"{stat['spectra_per_s']:.0f} spectra/s")
    print("\n## Speed (2,700 x 4,000-point float32 trains)\n")
    print(_table(speed, ["what", "blas_threads", "spectra_per_s", "s_per_1e6"]))
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"ramps": ramps, "xes": xes, "stationary": stat, "speed": speed}, f,
                      indent=1, default=float)


if __name__ == "__main__":
    main()
