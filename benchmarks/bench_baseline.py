"""Benchmark: speed of each baseline method (and the other transformers) on float32 spectra.

The live target is a European XFEL train: up to 2,700 spectra in 100 ms, i.e. 27,000 spectra
of ~4,000 points per second. Spectra are simulated XRD patterns of a pressure ramp
(``specstate.datasets.simulate_xrd_ramp``, a few distinct patterns tiled to a train). Every
transformer is fitted once (outside the timing, as a model is fitted once) and its
``transform`` is timed on a whole train; the median over repeats is reported.

The iterative AsLS / arPLS baselines loop over spectra in pybaselines: they are timed on a few
spectra and the rate is extrapolated to the train (the table says so).

Usage::

    .venv/bin/python benchmarks/bench_baseline.py                 # 2,700 x 4,000, ~1 min
    .venv/bin/python benchmarks/bench_baseline.py --quick         # smoke run, seconds
    .venv/bin/python benchmarks/bench_baseline.py --n-spectra 2700 --n-points 4000 \
        --asls-spectra 50 --repeats 7 --out benchmarks/results/baseline.json

Timings depend on the machine and on what else runs on it: quote them with the CPU line the
script prints.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

TARGET_RATE = 27_000  # spectra per second: 10 trains/s x 2,700 pulses at the European XFEL
TRAIN = 2_700  # spectra per train
N_UNIQUE = 50  # distinct simulated patterns, tiled to the requested number of spectra


def simulate(n_spectra: int, n_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Float32 XRD patterns (n_spectra, n_points) and their 2theta axis."""
    from specstate.datasets import simulate_xrd_ramp

    n_unique = min(N_UNIQUE, n_spectra)
    s = simulate_xrd_ramp(
        n_patterns=max(n_unique, 4),
        n_points=n_points,
        transition=(1, 3) if n_unique < 10 else (n_unique // 2 - 2, n_unique // 2 + 2),
        random_state=seed,
    )
    X = np.resize(s.intensity.astype(np.float32), (n_spectra, n_points))
    return np.ascontiguousarray(X), s.axis


def time_transform(transformer, X: np.ndarray, repeats: int) -> tuple[float, float]:
    """Fit once (timed apart), then the median transform time over `repeats` calls."""
    t0 = time.perf_counter()
    transformer.fit(X)
    fit_s = time.perf_counter() - t0
    transformer.transform(X[: min(len(X), 8)])  # warm caches and lazy imports
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = transformer.transform(X)
        times.append(time.perf_counter() - t0)
    assert out.dtype == X.dtype, f"{transformer!r} changed the dtype to {out.dtype}"
    return float(np.median(times)), fit_s


def build_cases(axis: np.ndarray, include_others: bool):
    """(name, family, transformer, iterative) for every method to time."""
    from specstate.preprocessing import (
        AsLSBaseline,
        HighPassBaseline,
        MaskRanges,
        Normalize,
        RangeCut,
        Resample,
        SavitzkyGolay,
    )

    step = float(np.median(np.diff(axis)))
    cases = [
        ("HighPassBaseline(width=25 points)", "baseline", HighPassBaseline(width=25), False),
        ("HighPassBaseline(width=50 points)", "baseline", HighPassBaseline(width=50), False),
        ("HighPassBaseline(width=100 points)", "baseline", HighPassBaseline(width=100), False),
        (
            "HighPassBaseline(width=0.5 deg)",
            "baseline",
            HighPassBaseline(width=0.5, unit="axis", axis=axis),
            False,
        ),
        ("AsLSBaseline(asls, lam=1e5, p=0.002, 10 passes)", "baseline", AsLSBaseline(), True),
        (
            "AsLSBaseline(arpls, lam=1e5, max_iter=50, tol=1e-3)",
            "baseline",
            AsLSBaseline(method="arpls", max_iter=50, tol=1e-3),
            True,
        ),
    ]
    if include_others:
        lo, hi = axis[0], axis[-1]
        cases += [
            (
                "RangeCut(middle 80 %)",
                "other",
                RangeCut(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), axis=axis),
                False,
            ),
            (
                "MaskRanges(3 gaps, interpolate)",
                "other",
                MaskRanges(
                    [(lo + f * (hi - lo), lo + f * (hi - lo) + 20 * step) for f in (0.2, 0.5, 0.8)],
                    axis=axis,
                ),
                False,
            ),
            (
                "Resample(onto 3,000 points)",
                "other",
                Resample(np.linspace(lo, hi, 3000), axis=axis),
                False,
            ),
            ("Normalize(max)", "other", Normalize("max"), False),
            ("Normalize(snv)", "other", Normalize("snv"), False),
            ("SavitzkyGolay(11, 3)", "other", SavitzkyGolay(11, 3), False),
        ]
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-spectra", type=int, default=TRAIN, help="spectra per timed call")
    parser.add_argument("--n-points", type=int, default=4000, help="points per spectrum")
    parser.add_argument(
        "--asls-spectra",
        type=int,
        default=30,
        help="spectra the iterative methods are timed on (then extrapolated)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per method")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-others",
        action="store_true",
        help="time only the baselines, not the other transformers",
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_spectra, args.asls_spectra, args.repeats = 270, 5, 2

    X, axis = simulate(args.n_spectra, args.n_points, args.seed)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count()
    print(
        f"# {platform.processor() or platform.machine()}, {cores} cores usable, "
        f"numpy {np.__version__}; {args.n_spectra} float32 spectra x {args.n_points} points"
    )
    print()
    header = (
        "method",
        "spectra/s",
        f"ms per {TRAIN:,}-spectrum train",
        "fit ms",
        f">= {TARGET_RATE:,}/s",
        "note",
    )
    rows = []
    for name, family, transformer, iterative in build_cases(axis, not args.no_others):
        data = X[: args.asls_spectra] if iterative else X
        seconds, fit_s = time_transform(transformer, data, 1 if iterative else args.repeats)
        rate = len(data) / seconds
        note = f"timed on {len(data)} spectra, extrapolated" if iterative else ""
        rows.append(
            {
                "method": name,
                "family": family,
                "spectra_per_s": rate,
                "ms_per_train": 1000 * TRAIN / rate,
                "fit_ms": 1000 * fit_s,
                "meets_target": rate >= TARGET_RATE,
                "timed_spectra": len(data),
                "note": note,
            }
        )

    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * 3 + ["---", "---"]) + "|")
    for r in rows:
        print(
            f"| {r['method']} | {r['spectra_per_s']:,.0f} | {r['ms_per_train']:,.1f} | "
            f"{r['fit_ms']:,.1f} | {'yes' if r['meets_target'] else 'no'} | {r['note']} |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "n_spectra": args.n_spectra,
                    "n_points": args.n_points,
                    "cores": cores,
                    "rows": rows,
                },
                indent=2,
            )
        )
        tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
