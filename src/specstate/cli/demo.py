"""``specstate demo``: the whole method on a simulated pressure ramp, in well under a minute.

Simulates the powder-XRD pressure ramp of the reference experiment (349 patterns, bcc → hcp
around patterns 185–194), fits a classifier on four extreme patterns (two per state, at the far
ends of the ramp, as the reference did), classifies every pattern, and reports honestly:
per-spectrum accuracy against the simulator's truth outside the transition window, what the
classifier says inside it, where the transition was located against the true window, and the
regions it found. Writes ``report.html`` (the interactive report: open it in a browser),
``demo.png``, ``model.h5`` and ``results.csv`` into the output folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import SpecstateError

HELP = ("fit and classify a simulated XRD pressure ramp; print the accuracy, write an HTML "
        "report")

logger = logging.getLogger(__name__)

DEFAULT_DIR = Path("specstate-demo")
FIGURE_NAME, MODEL_NAME, RESULTS_NAME = "demo.png", "model.h5", "results.csv"
REPORT_NAME = "report.html"
MIXED = "mixed"  # the simulator's label of the patterns inside the transition window
# References per state, taken at either far end of the ramp (the reference used two).
REFS_PER_STATE = 2
# --quick: a shorter ramp with fewer points (for tests and smoke runs); the window keeps its
# place relative to the run.
QUICK_RAMP = {"n_patterns": 120, "n_points": 1500, "transition": (64, 68)}
# --quick also trains the networks for fewer Adam steps (the default is 200).
QUICK_MAX_ITER = 80


@dataclass(frozen=True)
class DemoResult:
    """Numbers the demo reports (also returned to callers of :func:`run_demo`)."""

    accuracy: float  # outside the window, training patterns excluded
    per_state: dict  # state -> fraction correct outside the window
    inside: dict  # state -> fraction of window patterns predicted as that state
    window: tuple[int, int]  # true window (first, last pattern)
    transitions: list
    transition_error: int | None
    fit_seconds: float
    classify_seconds: float
    output: Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate demo``."""
    parser.add_argument(
        "-o", "--out", "--output", dest="output", metavar="DIR", type=Path, default=DEFAULT_DIR,
                        help=f"folder for {REPORT_NAME}, {FIGURE_NAME}, {MODEL_NAME} and "
                             f"{RESULTS_NAME} (default ./{DEFAULT_DIR})")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the simulation and "
                        "the fit (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a short ramp ({QUICK_RAMP['n_patterns']} patterns of "
                             f"{QUICK_RAMP['n_points']} points), for a smoke test")


def true_window(labels) -> tuple[int, int]:
    """First and last pattern labelled 'mixed' (the simulated transition window)."""
    inside = np.flatnonzero(np.asarray(labels) == MIXED)
    if inside.size == 0:
        change = int(np.flatnonzero(labels[1:] != labels[:-1])[0])
        return change, change + 1
    return int(inside[0]), int(inside[-1])


def _require(module: str, extra: str) -> None:
    """Raise a one-sentence error when an optional dependency the demo needs is missing."""
    if importlib.util.find_spec(module) is None:
        raise SpecstateError(
            f"The demo needs {module}, which is not installed; install it with "
            f"pip install 'specstate[{extra}]'."
        )


def _truth_columns(spectra) -> dict:
    """The simulator's truth, as columns next to the results (pressure, true state)."""
    columns = {"true_state": np.asarray(spectra.labels).astype(str)}
    if "pressure" in spectra.params:
        columns = {"pressure_GPa": np.round(spectra.params["pressure"], 4), **columns}
    return columns


def run_demo(output: Path = DEFAULT_DIR, *, seed: int = 0, quick: bool = False,
             echo=print) -> DemoResult:
    """Run the demo; `echo` receives each line of the report.

    Parameters
    ----------
    output : pathlib.Path
        Folder for the figure, the model and the results table (created if missing).
    seed : int, default=0
        Seed of the simulation and of the fit.
    quick : bool, default=False
        A shorter ramp, for tests.
    echo : callable, default=print
        Receives the report, one line per call.

    Returns
    -------
    DemoResult
    """
    from ..classifier import SpectraClassifier
    from ..datasets import simulate_xrd_ramp
    from ..io.results import write_results
    from ..means import StateMeans
    from ..report import demo_figure, regions_table, save_figure
    from ..report.html import write_report
    from ..transitions import locate_transitions, transition_error

    _require("torch", "train")
    _require("matplotlib", "plot")
    _require("bokeh", "report")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    spectra = simulate_xrd_ramp(random_state=seed, **(QUICK_RAMP if quick else {}))
    truth = np.asarray(spectra.labels)
    n = len(spectra)
    lo, hi = true_window(truth)
    train = np.r_[0:REFS_PER_STATE, n - REFS_PER_STATE:n]
    echo(f"Simulated {n} XRD patterns of a pressure ramp ({spectra.n_points} points, "
         f"2θ {spectra.axis[0]:g}–{spectra.axis[-1]:g}°), {truth[0]} → {truth[-1]} "
         f"in patterns {lo}–{hi}.")
    echo(f"Training on {train.size} patterns only: {', '.join(map(str, train))} "
         f"({', '.join(truth[train])}).")

    clf = SpectraClassifier(random_state=seed, **({"max_iter": QUICK_MAX_ITER} if quick else {}))
    t0 = time.perf_counter()
    clf.fit(spectra[train], truth[train])
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = clf.classify(spectra)
    classify_s = time.perf_counter() - t0
    classes = list(np.asarray(clf.classes_).tolist())
    pred = np.asarray(result.labels)

    scored = np.ones(n, bool)
    scored[train] = False
    scored[lo : hi + 1] = False
    correct = pred == truth
    accuracy = float(correct[scored].mean())
    per_state = {c: float(correct[scored & (truth == c)].mean()) for c in classes
                 if np.any(scored & (truth == c))}
    inside = {c: float(np.mean(pred[lo : hi + 1] == c)) for c in classes}
    echo("")
    echo(f"Accuracy outside the transition window: {100 * accuracy:.1f} % "
         f"({int(correct[scored].sum())}/{int(scored.sum())} patterns, training patterns "
         "excluded)")
    for c, frac in per_state.items():
        k = int(np.sum(scored & (truth == c)))
        echo(f"  {c:>8}: {100 * frac:5.1f} % of {k}")
    share = ", ".join(f"{c} {100 * f:.0f} %" for c, f in inside.items())
    echo(f"Inside the window ({hi - lo + 1} patterns, mixed phases): classified as {share}")

    transitions = locate_transitions(result.proba, clf.classes_, ambiguous=result.ambiguous)
    error = None
    if transitions:
        error = max(transition_error(t, (lo, hi)) for t in transitions)
        for t in transitions:
            last, first = t.low_confidence
            echo(f"Located transition {t.from_state} → {t.to_state} at pattern {t.index} "
                 f"(low-confidence interval {last}–{first}); true window {lo}–{hi}: "
                 + ("inside." if transition_error(t, (lo, hi)) == 0
                    else f"{transition_error(t, (lo, hi))} patterns off."))
    else:
        echo(f"No transition located (true window {lo}–{hi}).")
    echo("")
    echo(regions_table(clf))
    echo(f"Fit {fit_s:.2f} s; classifying {n} patterns {1e3 * classify_s:.1f} ms.")

    model_path, results_path = output / MODEL_NAME, output / RESULTS_NAME
    clf.save(model_path)
    write_results(results_path, result.with_ids(spectra), spectra, clf, model_path=model_path,
                  program="specstate demo", extra_columns=_truth_columns(spectra))
    fig = demo_figure(
        clf, spectra, result, transitions, truth=(lo, hi), train=train,
        title=f"specstate demo: {train.size} references, accuracy {100 * accuracy:.1f} % "
              f"outside the window; true window {lo}–{hi}",
    )
    figure_path = save_figure(fig, output / FIGURE_NAME)
    report_path = write_report(
        output / REPORT_NAME, model=clf, classification=result.with_ids(spectra),
        state_means=StateMeans.of(result, spectra.intensity, axis=spectra.axis,
                                  axis_name=spectra.axis_name, axis_unit=spectra.axis_unit),
        title=f"specstate demo: simulated XRD pressure ramp, {n} patterns")
    echo(f"Wrote {figure_path}, {model_path}, {results_path}")
    echo(f"Open {report_path} in a browser: the interactive report of the model and the run.")
    return DemoResult(accuracy, per_state, inside, (lo, hi), transitions, error, fit_s,
                      classify_s, output)


def run(args: argparse.Namespace) -> int:
    """Run ``specstate demo``."""
    from ._common import check_output_folder

    check_output_folder(args.output)
    run_demo(args.output, seed=args.seed, quick=args.quick)
    return 0
