"""Throughput of ``specstate.parallel.classify_many`` against the number of Dask workers.

Simulated single-shot XES runs (per-pulse spectra, an XGM monitor) are written as EuXFEL run
folders with EXtra-data's mock-data writers, a model is fitted on separate simulated shots,
then all runs are classified (read with EXtra-data, classified, written as NeXus) in this
process without Dask, and on a local Dask cluster of 1, 2, ... worker processes. Prints one
row per setting: wall time, spectra per second, and the speed-up over one worker. The time to
start the cluster is reported apart (it is paid once per session).

Usage::

    python benchmarks/bench_dask.py                      # 8 runs x 25 trains x 200 pulses
    python benchmarks/bench_dask.py --runs 16 --workers 1 2 4 --chunk-trains 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the mock-run writer of the facility tests

from facility.mockrun import SPEC_KEY, SPEC_SOURCE, write_mock_run  # noqa: E402
from specstate.datasets import simulate_xes  # noqa: E402
from specstate.parallel import SYNCHRONOUS, classify_many  # noqa: E402

#: training shots for the model (a few thousand, as at the beamline)
N_TRAIN = 2000
#: repeats of each timing; the best is reported (least disturbed by other load)
REPEATS = 2


def make_runs(folder: Path, n_runs: int, n_trains: int, pulses: int, points: int):
    runs = []
    for i in range(n_runs):
        s = simulate_xes(n_shots=n_trains * pulses, n_points=points, pulses_per_train=pulses,
                         random_state=100 + i)
        runs.append(write_mock_run(folder / f"r{i + 1:04d}", s, pulses_per_train=pulses,
                                   layout="array", first_train=int(s.train_ids[0])))
    return runs


def fit_model(path: Path, points: int) -> None:
    from specstate.classifier import SpectraClassifier

    train = simulate_xes(n_shots=N_TRAIN, n_points=points, random_state=0)
    # the runs are read on the detector's pixel index (no energy calibration in the run),
    # so the model is fitted on the pixel index too
    SpectraClassifier(random_state=0).fit(train.intensity, train.labels).save(path)


def timed(fn) -> float:
    best = np.inf
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        status = fn()
        best = min(best, time.perf_counter() - t0)
        failed = [s for s in status if not s.ok]
        if failed:
            raise SystemExit(f"{failed[0].input} failed: {failed[0].error}")
    return best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=8)
    p.add_argument("--trains", type=int, default=25)
    p.add_argument("--pulses", type=int, default=200)
    p.add_argument("--points", type=int, default=300)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--chunk-trains", type=int, default=None)
    args = p.parse_args(argv)

    from distributed import Client, LocalCluster

    tmp = Path(tempfile.mkdtemp(prefix="bench_dask-"))
    try:
        t0 = time.perf_counter()
        runs = make_runs(tmp / "raw", args.runs, args.trains, args.pulses, args.points)
        model = tmp / "model.h5"
        fit_model(model, args.points)
        n_spectra = args.runs * args.trains * args.pulses
        print(f"{args.runs} runs x {args.trains} trains x {args.pulses} pulses = {n_spectra} "
              f"spectra of {args.points} points; setup {time.perf_counter() - t0:.1f} s; "
              f"{os.cpu_count()} CPU cores")
        read = {"source": SPEC_SOURCE, "key": SPEC_KEY}
        common = dict(read_kwargs=read, progress=False, chunk_trains=args.chunk_trains)
        rows = []
        seconds = timed(lambda: classify_many(model, runs, tmp / "out-serial",
                                              scheduler=SYNCHRONOUS, **common))
        rows.append(("in process (no Dask)", "-", seconds))
        for n in args.workers:
            t0 = time.perf_counter()
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
            client.wait_for_workers(n)
            startup = time.perf_counter() - t0
            try:
                seconds = timed(lambda client=client, n=n: classify_many(
                    model, runs, tmp / f"out-{n}", scheduler=client, **common))
            finally:
                client.close()
                cluster.close()
            rows.append((f"Dask LocalCluster, {n} worker(s)", f"{startup:.1f}", seconds))
        one = next((s for name, _, s in rows if name.endswith(" 1 worker(s)")), rows[0][2])
        print(f"{'setting':<34} {'start (s)':>9} {'wall (s)':>9} {'spectra/s':>11} "
              f"{'speed-up':>9}")
        for name, startup, seconds in rows:
            print(f"{name:<34} {startup:>9} {seconds:>9.2f} {n_spectra / seconds:>11,.0f} "
                  f"{one / seconds:>8.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
