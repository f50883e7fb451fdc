"""Benchmark: specstate against its peers on simulated XRD ramps and single-shot XES.

Prints markdown tables (accuracy, transition error, calibration, speed) and, with ``--out``,
writes every number to a JSON file. Not part of the test suite; timings depend on the machine
(the README's numbers say where they were taken).

Usage::

    .venv/bin/python benchmarks/bench_classifier.py                  # full run (~10 min, 2 cores)
    .venv/bin/python benchmarks/bench_classifier.py --quick          # smoke run
    .venv/bin/python benchmarks/bench_classifier.py --tasks far near --models specstate logreg
    .venv/bin/python benchmarks/bench_classifier.py --out benchmarks/results/full.json

Tasks (each over several seeds = simulated data set + reference picks):

near      XRD phase ramp, 2 references per state a few patterns before / after the transition
far       XRD phase ramp, 2 references per state at the far ends of the ramp (the reference's set)
every10   XRD phase ramp, every 10th pattern outside the transition window (follow-up study)
jump-far  XRD lattice-jump ramp (states differ only by a jump of the lattice), far-end refs
jump-near XRD lattice-jump ramp, references near the transition
xes       single-shot XES pump-probe: the first shots of a drifting run train, the rest test;
          the photon/detector noise limit (xes_noise_limit) is reported alongside

Metrics: accuracy against the simulator's truth on the spectra not used for training, outside
the transition window; transition error = distance in patterns between each located change
point and the true window (0 inside; the worst located transition counts; no transition found
counts as the run length); ECE = 15-bin expected calibration error of the top-class
probability on the same held-out spectra; fit time; predict throughput on 2,700 raw float32
spectra (median of repeats, raw intensities to labels); single-spectrum latency.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import CANDIDATES, candidates  # noqa: E402

log = logging.getLogger("bench")

# ---------------------------------------------------------------------------- settings
N_SEEDS = 5  # seeds (simulated data set + reference picks) per task in a full run
N_SEEDS_QUICK = 2
# The reference point network costs ~20-40 s per fit even when limited (see peers.py): it
# runs on the first POINT_SEEDS seeds only (--point-seeds).
POINT_SEEDS = 2
# References "near" the transition: drawn from NEAR_GAP..NEAR_SPAN patterns before the first
# and after the last pattern of the window.
NEAR_GAP, NEAR_SPAN = 2, 12
# References at the "far" ends: drawn from the first / last FAR_SPAN patterns.
FAR_SPAN = 6
REFS_PER_STATE = 2
EVERY = 10  # every10 task: the training stride
# XES: shots simulated per run, of which the first XES_TRAIN train.
XES_SHOTS, XES_TRAIN = 6_000, 3_000
XES_SHOTS_QUICK, XES_TRAIN_QUICK = 4_000, 1_000
ECE_BINS = 15
# Speed: a train-sized batch (EuXFEL: up to 2,700 pulses per train) of this many points.
SPEED_BATCH, SPEED_POINTS = 2_700, 4_000
SPEED_REPEATS, LATENCY_REPEATS = 7, 50
SLOW_MODELS = {"point", "minirocket"}  # fewer speed repeats for these
SLOW_REPEATS, SLOW_LATENCY_REPEATS = 3, 10
WARM_UP_POINTS = 500
WARM_UP_BATCH = 64
#: Full batches are predicted for this long before timing: right after a fit, the BLAS/OpenMP
#: threads of the training spin on for ~0.2 s (measured with psutil: 0.17 s of CPU while the
#: main thread slept), which made the first few batches 1.5x slower than steady state.
WARM_UP_S = 0.5
TASKS = ("near", "far", "every10", "jump-far", "jump-near", "xes")
MIXED = "mixed"


# ---------------------------------------------------------------------------- data
@dataclasses.dataclass
class TaskData:
    """One benchmark instance: a run, which spectra train, which are scored."""

    X: np.ndarray  # (n, m) float32 raw spectra, in run order
    axis: np.ndarray
    truth: np.ndarray  # (n,) true labels (window spectra may be 'mixed')
    train: np.ndarray  # indices of the training spectra
    score: np.ndarray  # bool (n,): held out and outside the transition window
    window: tuple[int, int] | None  # first and last pattern of the true transition window
    spectra: object = None  # the Spectra (for the XES noise limit)


def _window(labels, spectra):
    mixed = np.flatnonzero(labels == MIXED)
    if mixed.size:
        return int(mixed[0]), int(mixed[-1])
    # No 'mixed' label: the window is where the label changes.
    change = np.flatnonzero(labels[1:] != labels[:-1])
    return int(change[0]), int(change[0]) + 1


def _ramp(variant, seed, n_points=None):
    from specstate.datasets import simulate_xrd_ramp

    kwargs = {"variant": variant, "random_state": seed}
    if n_points is not None:
        kwargs["n_points"] = n_points
    return simulate_xrd_ramp(**kwargs)


def _pick(rng, candidates_idx, k):
    return np.sort(rng.choice(candidates_idx, size=k, replace=False))


def make_task(task: str, seed: int, quick: bool = False) -> TaskData:
    """Simulate the data of `task` for `seed` and choose training / scored spectra."""
    rng = np.random.default_rng(10_000 + seed)
    if task == "xes":
        from specstate.datasets import simulate_xes

        n_shots, n_train = (XES_SHOTS_QUICK, XES_TRAIN_QUICK) if quick else (XES_SHOTS, XES_TRAIN)
        s = simulate_xes(n_shots=n_shots, random_state=seed)
        truth = np.asarray(s.labels)
        train = np.arange(n_train)
        score = np.ones(len(truth), bool)
        score[train] = False
        return TaskData(np.ascontiguousarray(s.intensity, np.float32), s.axis, truth, train,
                        score, None, s)
    variant = "lattice-jump" if task.startswith("jump") else "phase"
    s = _ramp(variant, seed)
    truth = np.asarray(s.labels)
    n = len(truth)
    lo, hi = _window(truth, s)
    if task in ("near", "jump-near"):
        before = np.arange(max(0, lo - NEAR_SPAN), lo - NEAR_GAP)
        after = np.arange(hi + 1 + NEAR_GAP, min(n, hi + 1 + NEAR_SPAN))
        train = np.concatenate([_pick(rng, before, REFS_PER_STATE),
                                _pick(rng, after, REFS_PER_STATE)])
    elif task in ("far", "jump-far"):
        train = np.concatenate([_pick(rng, np.arange(FAR_SPAN), REFS_PER_STATE),
                                _pick(rng, np.arange(n - FAR_SPAN, n), REFS_PER_STATE)])
    elif task == "every10":
        offset = int(rng.integers(EVERY))
        train = np.arange(offset, n, EVERY)
        train = train[(train < lo) | (train > hi)]
    else:
        raise SystemExit(f"unknown task {task!r}; choose from {TASKS}")
    score = np.ones(n, bool)
    score[train] = False
    score[lo : hi + 1] = False
    return TaskData(np.ascontiguousarray(s.intensity, np.float32), s.axis, truth, train,
                    score, (lo, hi), s)


# ---------------------------------------------------------------------------- metrics
def expected_calibration_error(proba, correct, n_bins=ECE_BINS) -> float:
    """15-bin ECE of the top-class probability: sum over bins of |accuracy - confidence|."""
    conf = proba.max(axis=1)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    total = np.bincount(bins, minlength=n_bins)
    acc = np.bincount(bins, weights=correct.astype(float), minlength=n_bins)
    mean_conf = np.bincount(bins, weights=conf, minlength=n_bins)
    used = total > 0
    return float(np.sum(np.abs(acc[used] - mean_conf[used])) / conf.size)


def transition_errors(proba, classes, window, n):
    """(error in patterns, number of located transitions) of a run's probabilities."""
    from specstate.transitions import locate_transitions, transition_error

    found = locate_transitions(proba, classes)
    if not found:
        return n, 0
    return max(transition_error(t, window) for t in found), len(found)


def evaluate(candidate, data: TaskData, seed: int) -> dict:
    """Fit `candidate` on the task's training spectra and score it."""
    y = data.truth[data.train]
    t0 = time.perf_counter()
    model = candidate.fit(data.spectra[data.train], y, seed)
    fit_s = time.perf_counter() - t0
    proba = np.asarray(model.predict_proba(data.X), dtype=np.float64)
    classes = np.asarray(model.classes_)
    pred = classes[np.argmax(proba, axis=1)]
    correct = pred[data.score] == data.truth[data.score]
    out = {
        "accuracy": float(correct.mean()),
        "ece": expected_calibration_error(proba[data.score], correct),
        "fit_s": fit_s,
    }
    if data.window is not None:
        out["transition_error"], out["n_transitions"] = transition_errors(
            proba, classes, data.window, len(data.truth))
    return out, model


def noise_limit(data: TaskData) -> float:
    """Accuracy the photon and detector noise allow on the scored XES shots."""
    from specstate.datasets import xes_noise_limit

    accuracy, _ = xes_noise_limit(data.spectra[np.flatnonzero(data.score)])
    return float(np.mean(accuracy))


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def measure_speed(candidate, key, seed=0) -> dict:
    """Throughput on a 2,700 x 4,000 raw float32 batch and single-spectrum latency."""
    s = _ramp("phase", seed, n_points=SPEED_POINTS)
    X = np.ascontiguousarray(s.intensity, np.float32)
    n = X.shape[0]
    train = np.r_[0, 1, n - 2, n - 1]
    model = candidate.fit(s[train], np.asarray(s.labels)[train], seed)
    batch = np.ascontiguousarray(np.resize(X, (SPEED_BATCH, X.shape[1])))
    one = np.ascontiguousarray(batch[:1])
    slow = key in SLOW_MODELS
    model.predict(batch[:WARM_UP_BATCH])  # warm-up (JIT, caches, thread pools)
    model.predict(one)
    t_end = time.perf_counter() + (0 if slow else WARM_UP_S)
    while time.perf_counter() < t_end:  # steady state, as a live loop sees it
        model.predict(batch)
    batch_s = _median_time(lambda: model.predict(batch), SLOW_REPEATS if slow else SPEED_REPEATS)
    one_s = _median_time(lambda: model.predict(one),
                         SLOW_LATENCY_REPEATS if slow else LATENCY_REPEATS)
    return {"throughput": SPEED_BATCH / batch_s, "batch_s": batch_s, "latency_ms": 1e3 * one_s}


# ---------------------------------------------------------------------------- tables
def _fmt_pct(values):
    v = 100 * np.asarray(values)
    return f"{v.mean():.1f} / {v.min():.1f}"


def _fmt_err(values):
    v = np.asarray(values)
    return f"{v.mean():.1f} / {v.max():.0f}"


def _fmt_ece(values):
    v = np.asarray(values)
    return f"{v.mean():.3f} / {v.max():.3f}"


def markdown(results, tasks, models, n_seeds) -> str:
    """The benchmark tables as markdown."""
    names = {k: CANDIDATES[k].name for k in models}
    lines = []

    def table(title, metric, fmt, task_list, extra_rows=()):
        if not task_list:
            return
        lines.extend([f"**{title}**", "", "| model | " + " | ".join(task_list) + " |",
                      "|---|" + "---|" * len(task_list)])
        for k in models:
            cells = []
            for t in task_list:
                runs = results["tasks"].get(t, {}).get(k, [])
                vals = [r[metric] for r in runs if metric in r]
                cells.append(fmt(vals) if vals else "n/a")
            lines.append(f"| {names[k]} | " + " | ".join(cells) + " |")
        lines.extend(extra_rows)
        lines.append("")

    extra = []
    if "xes" in tasks and results.get("xes_noise_limit"):
        limit = results["xes_noise_limit"]
        cells = [_fmt_pct(limit) if t == "xes" else "" for t in tasks]
        extra.append("| *photon/detector noise limit* | " + " | ".join(cells) + " |")
    table(f"Accuracy (%) on held-out spectra outside the transition window, mean / worst of "
          f"{n_seeds} seeds", "accuracy", _fmt_pct, list(tasks), extra)
    xrd = [t for t in tasks if t != "xes"]
    table("Transition error (patterns from the true window; 0 = inside), mean / worst",
          "transition_error", _fmt_err, xrd)
    table("Expected calibration error (15 bins, top-class probability), mean / worst",
          "ece", _fmt_ece, list(tasks))
    table("Fit time (s), mean / worst", "fit_s",
          lambda v: f"{np.mean(v):.2f} / {np.max(v):.2f}", list(tasks))
    if results.get("speed"):
        lines.extend([f"**Prediction speed: batch of {SPEED_BATCH} raw float32 spectra of "
                      f"{SPEED_POINTS} points, raw intensities to labels (median)**", "",
                      "| model | spectra/s | batch (ms) | single spectrum (ms) |",
                      "|---|---|---|---|"])
        for k in models:
            sp = results["speed"].get(k)
            if sp:
                lines.append(f"| {names[k]} | {sp['throughput']:,.0f} | "
                             f"{1e3 * sp['batch_s']:.1f} | {sp['latency_ms']:.2f} |")
        lines.append("")
    notes = [f"- {CANDIDATES[k].name}: {CANDIDATES[k].note}" for k in models
             if CANDIDATES[k].note]
    if "point" in models and results.get("point_seeds", n_seeds) < n_seeds:
        notes.append(f"- {CANDIDATES['point'].name}: over the first {results['point_seeds']} "
                     "seeds only (its fits take ~15-40 s each); compare it with the other "
                     "rows on those seeds (per-seed numbers in the JSON).")
    if notes:
        lines.extend(["Notes:", *notes])
    if results.get("command"):
        lines.append(f"- Command: `{results['command']}` ({results['elapsed_s'] / 60:.0f} min).")
    env = results["environment"]
    lines.append(f"- Machine: {env['cpus']} CPUs visible, torch threads {env['torch_threads']}, "
                 f"{env['platform']}; specstate {env['specstate']}.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main
def _environment():
    import specstate

    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        threads = None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpus": cpus, "torch_threads": threads, "platform": platform.platform(),
            "python": platform.python_version(), "specstate": specstate.__version__}


def warm_up(models) -> None:
    """Fit and predict each model once on a tiny ramp: JIT compilation (numba in MiniRocket),
    thread pools and lazy imports are then not billed to the first timed fit."""
    s = _ramp("phase", 0, n_points=WARM_UP_POINTS)
    n = len(s)
    train = np.r_[0, 1, n - 2, n - 1]
    X = np.ascontiguousarray(s.intensity, np.float32)
    for key in models:
        try:
            CANDIDATES[key].fit(s[train], np.asarray(s.labels)[train], 0).predict(X)
        except Exception:  # the timed runs report the failure
            log.debug("warm-up of %s failed", key, exc_info=True)


def run(tasks, models, seeds, quick=False, speed=True, point_seeds=POINT_SEEDS) -> dict:
    """Run the benchmark; returns every number (per task, model and seed)."""
    results = {"tasks": {}, "speed": {}, "xes_noise_limit": [], "seeds": list(seeds),
               "point_seeds": min(point_seeds, len(seeds)), "quick": quick,
               "environment": _environment()}
    start = time.perf_counter()
    warm_up(models)
    for task in tasks:
        per_model = results["tasks"].setdefault(task, {k: [] for k in models})
        for seed in seeds:
            data = make_task(task, seed, quick=quick)
            if task == "xes":
                results["xes_noise_limit"].append(noise_limit(data))
            for key in models:
                if key == "point" and seed >= point_seeds:
                    continue
                try:
                    scores, _ = evaluate(CANDIDATES[key], data, seed)
                except Exception as exc:  # a failing model is a row of n/a, not a crash
                    log.exception("%s on %s seed %d failed", key, task, seed)
                    scores = {"error": f"{type(exc).__name__}: {exc}"}
                scores["seed"] = seed
                per_model[key].append(scores)
                log.info("%-9s seed %d %-10s %s (%.0f s)", task, seed, key,
                         {k: round(v, 4) for k, v in scores.items()
                          if isinstance(v, float)}, time.perf_counter() - start)
    if speed:
        for key in models:
            try:
                results["speed"][key] = measure_speed(CANDIDATES[key], key)
                log.info("speed %-10s %s", key, results["speed"][key])
            except Exception:
                log.exception("speed of %s failed", key)
    results["elapsed_s"] = time.perf_counter() - start
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {N_SEEDS_QUICK} seeds, fewer XES shots")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--models", nargs="+", default=list(CANDIDATES),
                        choices=list(CANDIDATES))
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"number of seeds per task (default {N_SEEDS}, quick "
                             f"{N_SEEDS_QUICK})")
    parser.add_argument("--point-seeds", type=int, default=None,
                        help=f"seeds for the slow reference point network (default "
                             f"{POINT_SEEDS}, quick 1)")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write all numbers as JSON here (e.g. "
                             "benchmarks/results/full.json)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    # scikit-learn 1.8+ announces coming default changes of LogisticRegressionCV on every fit
    warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    n_seeds = args.seeds or (N_SEEDS_QUICK if args.quick else N_SEEDS)
    models = [c for c in CANDIDATES if c in args.models]
    candidates(models)
    point_seeds = args.point_seeds or (1 if args.quick else POINT_SEEDS)
    results = run(args.tasks, models, range(n_seeds), quick=args.quick,
                  speed=not args.no_speed, point_seeds=point_seeds)
    results["command"] = " ".join(["python", "benchmarks/bench_classifier.py",
                                   *(argv if argv is not None else sys.argv[1:])])
    text = markdown(results, args.tasks, models, n_seeds)
    print(text)
    print(f"\n(total {results['elapsed_s']:.0f} s)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(json.dumps({**results, "markdown": text}, indent=1, default=float))
        tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
