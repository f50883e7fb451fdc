"""Time specstate.io.read on a folder of .xy files, an .npz and a NeXus file of the same spectra.

The reference data set is 349 powder patterns of ~4,000 points as two-column .xy files; the
target is to read such a folder in well under 2 s. Run::

    python benchmarks/bench_read.py                       # 349 x 4000, 5 repeats
    python benchmarks/bench_read.py --n-spectra 2000 --repeats 3 --keep /tmp/bench_read
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from specstate import Spectra
from specstate.io import read, write

#: the reference experiment: 349 patterns of ~4,000 points, 2θ 9.5–26°
DEFAULT_SPECTRA = 349
DEFAULT_POINTS = 4000
DEFAULT_REPEATS = 5
TWO_THETA = (9.5, 26.0)
WAVELENGTH = 0.4133
#: the goal of issue 2 for the .xy folder
TARGET_S = 2.0


def make_spectra(n: int, m: int, seed: int = 0) -> Spectra:
    """Counts-like float32 patterns with a few peaks, labels and ids."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(*TWO_THETA, m)
    centres = rng.uniform(*TWO_THETA, size=8)
    peaks = np.exp(-0.5 * ((axis[None, :] - centres[:, None]) / 0.05) ** 2).sum(0)
    intensity = rng.poisson(100 + 1000 * peaks, size=(n, m)).astype(np.float32)
    labels = np.where(np.arange(n) < n // 2, "bcc", "hcp")
    return Spectra(intensity, axis, axis_name="2theta", labels=labels,
                   train_ids=np.arange(n) + 10_000, metadata={"wavelength": WAVELENGTH})


def timed(func, repeats: int) -> tuple[float, float]:
    """Median and minimum wall time of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-spectra", type=int, default=DEFAULT_SPECTRA)
    parser.add_argument("--n-points", type=int, default=DEFAULT_POINTS)
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write the files here and keep them (default: a temporary folder)")
    args = parser.parse_args(argv)

    spectra = make_spectra(args.n_spectra, args.n_points)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        targets = {
            ".xy folder": root / "patterns",
            ".npz": root / "patterns.npz",
            ".nxs (NeXus)": root / "patterns.nxs",
        }
        rows = []
        for name, target in targets.items():
            out = str(target) + "/" if name == ".xy folder" else target
            write_med, _ = timed(lambda out=out: write(spectra, out), 1)
            check = read(target)
            assert check.shape == spectra.shape, (name, check.shape)
            assert np.array_equal(check.intensity.astype(np.float32), spectra.intensity)
            med, best = timed(lambda target=target: read(target), args.repeats)
            size = sum(p.stat().st_size for p in target.iterdir()) if target.is_dir() \
                else target.stat().st_size
            rows.append((name, med, best, write_med, size))

    n, m = spectra.shape
    print(f"specstate.io.read: {n} spectra x {m} points, median of {args.repeats} runs")
    print(f"{'format':<14} {'read median s':>14} {'read min s':>11} {'spectra/s':>11} "
          f"{'write s':>8} {'MB':>7}")
    for name, med, best, write_s, size in rows:
        print(f"{name:<14} {med:>14.3f} {best:>11.3f} {n / med:>11.0f} {write_s:>8.2f} "
              f"{size / 1e6:>7.1f}")
    xy = rows[0][1]
    verdict = "meets" if xy < TARGET_S else "MISSES"
    print(f".xy folder read in {xy:.2f} s: {verdict} the {TARGET_S:g} s target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
