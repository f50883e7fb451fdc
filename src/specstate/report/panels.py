"""The data of every panel, computed once for the HTML report, the PNG panels and the live page.

:func:`model_panel` turns a fitted classifier into what its panels show (each state's
reference spectrum with its spread, the regions with separability and weight, the fit plan and
held-out score); :func:`run_panel` turns a classified run into the state probability along the
run, transitions with their low-confidence intervals, confidence, ambiguity, unknown spectra,
per-state mean spectra and a summary table; :func:`train_record` and :func:`train_mean` are one
train's share of the live page. Everything here is numpy and plain data: the drawing modules
(:mod:`~specstate.report.html`, :mod:`~specstate.report.png`, :mod:`specstate.stream.page`)
only draw it.

Large runs are reduced before anything is drawn, so a report stays small and quick whatever
the run's size: along the run, one point per spectrum up to :data:`MAX_RUN_POINTS`, else one
per train (means over its spectra), else means over consecutive bins; along the axis, each
spectrum is cut to :data:`MAX_SPECTRUM_POINTS` by keeping each block's minimum and maximum
(narrow peaks survive).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..results import UNKNOWN, Classification, aggregate

__all__ = ["ModelPanel", "RunPanel", "model_panel", "run_panel", "run_data", "decimate",
           "train_record", "train_mean", "find_model", "axis_label", "WEIGHT_NOTE"]

logger = logging.getLogger(__name__)

#: Points drawn along a run: one per spectrum up to this, else aggregated (per train, or per
#: bin of consecutive spectra). 20,000 points keep the report under a few MB and the browser
#: responsive, and are more than a screen has pixels.
MAX_RUN_POINTS = 20_000
#: Points drawn per spectrum (min/max per block beyond this: about two per screen pixel).
MAX_SPECTRUM_POINTS = 1_500

#: Why a region of lower separability may get a higher weight (shown beside the weights).
WEIGHT_NOTE = (
    "Separability is how well a region alone tells the states apart on held-out references; "
    "the weight is what the region gets in the combined vote, fitted on out-of-fold "
    "predictions. A region with a lower separability can get a higher weight when its "
    "evidence is independent of the other regions' (it corrects their mistakes), while a "
    "highly separable region that only repeats another's evidence adds little and gets less."
)


def axis_label(name: str | None, unit: str | None) -> str:
    """A readable axis label, e.g. ``'2θ (deg)'``."""
    name = name or ""
    label = {"2theta": "2θ", "energy": "energy", "q": "q", "d": "d"}.get(name, name or "axis")
    return f"{label} ({unit})" if unit else label


def decimate(axis, y, max_points: int = MAX_SPECTRUM_POINTS):
    """Cut spectra to at most about `max_points` points, keeping each block's min and max.

    Parameters
    ----------
    axis : array-like of shape (m,)
        The axis.
    y : array-like of shape (m,) or (k, m)
        One or several spectra on it.
    max_points : int
        Most points kept.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The axis and the spectra, both with the same (reduced) number of points; unchanged
        when they already have few enough.
    """
    axis = np.asarray(axis, dtype=float)
    y = np.asarray(y, dtype=float)
    m = axis.shape[0]
    if m <= max_points:
        return axis, y
    block = math.ceil(2 * m / max_points)
    n_blocks = m // block
    cut = n_blocks * block
    shape = (*y.shape[:-1], n_blocks, block)
    yb = y[..., :cut].reshape(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN block gives NaN: fine
        lo, hi = np.nanmin(yb, axis=-1), np.nanmax(yb, axis=-1)
    xb = axis[:cut].reshape(n_blocks, block)
    x_out = np.stack([xb[:, 0], xb[:, -1]], axis=-1).reshape(-1)
    y_out = np.stack([lo, hi], axis=-1).reshape(*y.shape[:-1], 2 * n_blocks)
    return x_out, y_out


# ----------------------------------------------------------------------------- the model
@dataclass
class ModelPanel:
    """What the panels of a fitted model show.

    Attributes
    ----------
    classes : list of str
        The states.
    axis : numpy.ndarray
        The (decimated) axis of the references.
    axis_label : str
        Its label with unit.
    reference_mean, reference_std : numpy.ndarray of shape (C, k) or None
        Each state's reference mean and spread (None for a model file without them).
    regions : list of dict
        ``start``, ``stop``, ``separability``, ``weight`` of each region.
    plan : list of str
        The fit plan, one line per choice.
    heldout : dict
        Held-out score (``balanced_accuracy``, ``log_loss``, ``n``, ...).
    quality : dict
        ``separable`` and ``problems``.
    source : str
        The model file, where known.
    notes : list of str
        What could not be shown, and why.
    """

    classes: list
    axis: np.ndarray
    axis_label: str
    reference_mean: np.ndarray | None
    reference_std: np.ndarray | None
    regions: list
    plan: list
    heldout: dict
    quality: dict
    source: str = ""
    notes: list = field(default_factory=list)


def model_panel(clf, source: str = "") -> ModelPanel:
    """The data of a fitted model's panels.

    Parameters
    ----------
    clf : SpectraClassifier
        A fitted (or loaded) classifier.
    source : str, optional
        The model file it came from.

    Returns
    -------
    ModelPanel
    """
    classes = [str(c) for c in clf.classes_]
    axis = np.asarray(clf.axis_, dtype=float)
    notes = []
    mean = getattr(clf, "reference_mean_", None)
    std = getattr(clf, "reference_std_", None)
    if mean is not None:
        x, mean = decimate(axis, mean)
        std = None if std is None else decimate(axis, std)[1]
        axis = x
    else:
        axis = decimate(axis, np.zeros_like(axis))[0]
        notes.append("This model file has no reference spectra (written before models kept "
                     "them); refit it to see them.")
    regions = [{"start": float(r.start), "stop": float(r.stop),
                "separability": _num(getattr(r, "separability", math.nan)),
                "weight": _num(getattr(r, "weight", math.nan))}
               for r in (getattr(clf, "regions_", None) or [])]
    plan = []
    if getattr(clf, "fit_plan_", None):
        from ..plan import FitPlan

        plan = FitPlan.from_dict(clf.fit_plan_).lines()
    return ModelPanel(classes, axis, axis_label(getattr(clf, "axis_name_", ""),
                                                getattr(clf, "axis_unit_", "")),
                      mean, std, regions, plan, dict(getattr(clf, "heldout_score_", {}) or {}),
                      dict(getattr(clf, "quality_", {}) or {}), str(source), notes)


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def find_model(results_path, model=None):
    """The model of a results file: the one it records (path and SHA-256), or `model`.

    Parameters
    ----------
    results_path : path-like
        A results file.
    model : path-like, optional
        A model file given by the user (used even when the recorded one is missing).

    Returns
    -------
    (SpectraClassifier or None, str or None, list of str)
        The model, its file, and notes saying why none was loaded or what differs.
    """
    from ..classifier import SpectraClassifier
    from ..io.results import file_sha256, read_provenance

    prov = read_provenance(results_path)
    recorded, checksum = prov.get("model_file"), prov.get("model_checksum")
    notes = []
    if model is not None:
        if recorded and checksum and Path(model).is_file() and file_sha256(model) != checksum:
            notes.append(f"The model given ({model}) is not the one that classified this run "
                         f"(its SHA-256 differs from the one recorded for {recorded}).")
        return SpectraClassifier.load(model), str(model), notes
    if not recorded:
        what = "a CSV table records" if not prov else "this results file records"
        notes.append(f"No model file: {what} none; give one with --model to show the "
                     "references and regions.")
        return None, None, notes
    if not Path(recorded).is_file():
        notes.append(f"The model file recorded in the results, {recorded}, is missing; the "
                     "report shows the run only (give the model with --model).")
        return None, recorded, notes
    if checksum and file_sha256(recorded) != checksum:
        notes.append(f"The model file {recorded} has changed since these results were "
                     "written (its SHA-256 differs from the recorded one); it is not shown "
                     "(give it with --model to show it anyway).")
        return None, recorded, notes
    return SpectraClassifier.load(recorded), recorded, notes


# ----------------------------------------------------------------------------- the run
@dataclass
class RunPanel:
    """What the panels of a classified run show (already reduced for drawing).

    Attributes
    ----------
    classes : list of str
        The states, in the column order of `proba`.
    x : numpy.ndarray of shape (t,)
        Position of each point along the run.
    x_label : str
        What `x` is: ``'train id'``, ``'spectrum'`` (index in the input) ...
    per : str
        What one point is: ``'spectrum'``, ``'train'`` or ``'bin'`` (of consecutive spectra).
    proba : numpy.ndarray of shape (t, C)
        Mean probability of each state (a per-train table: the fraction of spectra).
    state : numpy.ndarray of str, shape (t,)
        The (majority) state of each point; ``''`` where none.
    confidence, ambiguous : numpy.ndarray of shape (t,)
        Mean confidence; fraction of ambiguous spectra.
    unknown : numpy.ndarray of shape (t,) or None
        Fraction of unknown (novel) spectra, where the model scores novelty.
    n : numpy.ndarray of int, shape (t,)
        Spectra per point.
    ids : list of str
        What each point is, for the hover text (spectrum, train, pulse, file).
    transitions : list of dict
        ``from_state``, ``to_state``, ``x`` (first point of the new state), ``low``
        (x of the last stable point of the old state), ``high`` (first stable of the new).
    state_means : dict or None
        ``axis``, ``names``, ``mean`` (K, k), ``counts``, ``axis_label``: the run's mean
        spectrum per state.
    summary : list of (str, str)
        The run's summary table.
    notes : list of str
        What could not be shown, and why.
    """

    classes: list
    x: np.ndarray
    x_label: str
    per: str
    proba: np.ndarray
    state: np.ndarray
    confidence: np.ndarray
    ambiguous: np.ndarray
    unknown: np.ndarray | None
    n: np.ndarray
    ids: list
    transitions: list
    state_means: dict | None
    summary: list
    notes: list = field(default_factory=list)


def run_data(source) -> dict:
    """The per-spectrum (or per-train) arrays of a run, whatever holds them.

    Parameters
    ----------
    source : Classification or path-like
        A classification (with ids where known) or a results file (``read_results``; a
        watch CSV table of trains through ``read_trains``).

    Returns
    -------
    dict
        ``classes``, ``state``, ``proba``, ``confidence``, ``ambiguous``, ``novel`` (or
        None), ``index``, ``train_id``, ``pulse_id``, ``file`` (or None each), ``per``
        (``'spectrum'`` or ``'train'``) and, for trains, ``n`` and ``unknown`` counts.
    """
    if isinstance(source, Classification):
        c = source
        return {"classes": [str(k) for k in c.classes], "state": np.asarray(c.labels).astype(str),
                "proba": np.asarray(c.proba, float), "confidence": np.asarray(c.confidence),
                "ambiguous": np.asarray(c.ambiguous, bool),
                "novel": None if c.novel is None else np.asarray(c.novel, bool),
                "index": c.index, "train_id": c.train_ids, "pulse_id": c.pulse_ids,
                "file": c.files, "per": "spectrum"}
    from ..exceptions import SpectraFileError
    from ..io.results import read_results, read_trains

    try:
        ds = read_results(source)
    except SpectraFileError as exc:
        if "per-train" not in str(exc):
            raise
        t = read_trains(source)
        n = t["n_spectra"].values if "n_spectra" in t else np.ones(t.sizes["train_id"], int)
        return {"classes": [str(k) for k in t["class"].values],
                "state": np.asarray(t["state"].values).astype(str),
                "proba": np.nan_to_num(np.asarray(t["fraction"].values, float)),
                "confidence": np.asarray(t["confidence"].values, float),
                "ambiguous": (t["ambiguous"].values / np.maximum(n, 1)
                              if "ambiguous" in t else np.zeros(n.size)),
                "novel": None, "index": np.arange(n.size),
                "train_id": np.asarray(t["train_id"].values), "pulse_id": None, "file": None,
                "per": "train", "n": n,
                "unknown": t["unknown"].values if "unknown" in t else None}
    coord = {k: (np.asarray(ds[k].values) if k in ds.coords else None)
             for k in ("train_id", "pulse_id", "file")}
    return {"classes": [str(k) for k in ds["class"].values],
            "state": np.asarray(ds["state"].values).astype(str),
            "proba": np.asarray(ds["probability"].values, float),
            "confidence": np.asarray(ds["confidence"].values, float),
            "ambiguous": np.asarray(ds["ambiguous"].values, bool),
            "novel": np.asarray(ds["novel"].values, bool) if "novel" in ds else None,
            "index": np.asarray(ds["spectrum"].values), "per": "spectrum", **coord}


def _ids(d: dict, rows: np.ndarray) -> list[str]:
    parts = [[f"spectrum {i}" for i in d["index"][rows].tolist()]]
    if d.get("train_id") is not None:
        parts.append([f"train {t}" for t in np.asarray(d["train_id"])[rows].tolist()])
    if d.get("pulse_id") is not None:
        parts.append([f"pulse {p}" for p in np.asarray(d["pulse_id"])[rows].tolist()])
    if d.get("file") is not None:
        parts.append([str(f) for f in np.asarray(d["file"])[rows].tolist()])
    return [" · ".join(p) for p in zip(*parts)]


def _grouped(d: dict, groups: np.ndarray, n_groups: int) -> dict:
    """Means per group of the per-spectrum arrays (the majority state per group)."""
    c = Classification(d["state"], d["proba"], d["confidence"], d["ambiguous"],
                       np.asarray(d["classes"]), novel=d["novel"])
    s = aggregate(c, groups, n_groups)
    n = np.bincount(groups, minlength=n_groups)
    proba = np.stack([np.bincount(groups, weights=np.nan_to_num(d["proba"][:, k]),
                                  minlength=n_groups) for k in range(d["proba"].shape[1])],
                     axis=1) / np.maximum(n, 1)[:, None]
    names = np.array([*d["classes"], ""], dtype=object)
    return {"proba": proba, "state": names[s["state"]].astype(str),
            "confidence": s["confidence"], "ambiguous": s["ambiguous"] / np.maximum(n, 1),
            "unknown": None if d["novel"] is None else s["unknown"] / np.maximum(n, 1), "n": n}


def run_panel(source, *, state_means=None, provenance: dict | None = None,
              max_points: int = MAX_RUN_POINTS) -> RunPanel:
    """The data of a classified run's panels.

    Parameters
    ----------
    source : Classification, dict or path-like
        A classification, the arrays of :func:`run_data`, or a results file.
    state_means : specstate.means.StateMeans, optional
        The run's per-state sums (default: read from a NeXus results file).
    provenance : dict, optional
        What made the results (:func:`specstate.io.results.read_provenance`), for the summary.
    max_points : int
        Most points along the run.

    Returns
    -------
    RunPanel
    """
    from ..transitions import locate_transitions

    notes = []
    if state_means is None and isinstance(source, (str, Path)):
        from ..io.results import read_state_means

        state_means = read_state_means(source)
        if state_means is None:
            notes.append("These results keep no per-state mean spectra (a CSV table, or a "
                         "file written before results kept them).")
    d = source if isinstance(source, dict) else run_data(source)
    n_rows = len(d["state"])
    classes = d["classes"]
    tid = None if d.get("train_id") is None else np.asarray(d["train_id"], np.int64)
    per = d["per"]
    if per == "train":
        n = np.asarray(d["n"], np.int64)
        unknown = d.get("unknown")
        g = {"proba": d["proba"], "state": d["state"], "confidence": d["confidence"],
             "ambiguous": np.asarray(d["ambiguous"], float),
             "unknown": None if unknown is None else unknown / np.maximum(n, 1), "n": n}
        x, x_label, ids = tid, "train id", [f"train {t}" for t in tid.tolist()]
    elif n_rows <= max_points:
        novel = d["novel"]
        g = {"proba": d["proba"], "state": np.where(novel, UNKNOWN, d["state"])
             if novel is not None else d["state"], "confidence": d["confidence"],
             "ambiguous": d["ambiguous"].astype(float),
             "unknown": None if novel is None else novel.astype(float),
             "n": np.ones(n_rows, np.int64)}
        one_per_train = tid is not None and n_rows > 1 and bool(np.all(np.diff(tid) > 0))
        x = tid if one_per_train else np.asarray(d["index"])
        x_label = "train id" if one_per_train else "spectrum"
        ids = _ids(d, np.arange(n_rows))
    else:
        if tid is not None:
            trains, groups = np.unique(tid, return_inverse=True)
            groups = groups.ravel()
            per, x_label = "train", "train id"
            if trains.size > max_points:  # bins of consecutive trains
                size = math.ceil(trains.size / max_points)
                groups //= size
                trains = trains[::size]
                per = "bin"
            x = trains
        else:
            size = math.ceil(n_rows / max_points)
            groups = np.arange(n_rows) // size
            x = np.asarray(d["index"])[::size]
            per, x_label = "bin", "spectrum"
        n_groups = int(groups.max()) + 1
        g = _grouped(d, groups, n_groups)
        first = np.searchsorted(groups, np.arange(n_groups))  # rows are in run order
        ids = [f"{'train' if per == 'train' else 'from'} {v} ({k} spectra)"
               for v, k in zip(x.tolist(), g["n"].tolist())]
        if per == "bin" and tid is not None:
            ids = [f"trains from {t} ({k} spectra)" for t, k in zip(tid[first].tolist(),
                                                                   g["n"].tolist())]
        notes.append(f"{n_rows} spectra are drawn as {n_groups} points, one per "
                     f"{'train' if per == 'train' else 'bin of consecutive ' + x_label + 's'} "
                     "(means over its spectra).")
    x = np.asarray(x)
    transitions = []
    if len(classes) >= 2 and x.size >= 2:
        for t in locate_transitions(g["proba"], np.asarray(classes)):
            last, first = t.low_confidence
            transitions.append({"from_state": str(t.from_state), "to_state": str(t.to_state),
                                "x": x[t.index].item(), "low": x[last].item(),
                                "high": x[first].item()})
    means = None
    if state_means is not None:
        axis = state_means.axis if state_means.axis is not None else np.arange(
            state_means.sums.shape[1], dtype=float)
        ax, mean = decimate(axis, state_means.mean)
        means = {"axis": ax, "names": state_means.names, "mean": mean,
                 "counts": np.asarray(state_means.counts),
                 "axis_label": axis_label(state_means.axis_name, state_means.axis_unit)}
    summary = _summary(d, g, transitions, x_label, provenance or {})
    return RunPanel(classes, x, x_label, per, np.asarray(g["proba"], float),
                    np.asarray(g["state"]).astype(str), np.asarray(g["confidence"], float),
                    np.asarray(g["ambiguous"], float), g["unknown"], np.asarray(g["n"]),
                    ids, transitions, means, summary, notes)


def _summary(d, g, transitions, x_label, prov) -> list:
    per_train = d["per"] == "train"
    n_spectra = int(np.sum(d["n"])) if per_train else len(d["state"])
    rows = [("spectra", str(n_spectra))]
    tid = d.get("train_id")
    if tid is not None:
        tid = np.asarray(tid)
        rows.append(("trains", f"{np.unique(tid).size} (train ids {tid.min()}–{tid.max()})"))
    states = np.asarray(d["state"]).astype(str)
    novel = d.get("novel")
    weights = np.asarray(d["n"]) if per_train else np.ones(states.size)
    what = "trains" if per_train else "spectra"
    for c in d["classes"]:
        mine = states == c if novel is None else (states == c) & ~novel
        k = int(weights[mine].sum()) if not per_train else int(mine.sum())
        total = states.size if per_train else n_spectra
        rows.append((f"{c} ({what})", f"{k} ({100 * k / max(total, 1):.1f} %)"))
    if per_train:
        if d.get("unknown") is not None:
            rows.append(("unknown (spectra)", str(int(np.sum(d["unknown"])))))
    else:
        rows.append(("ambiguous (spectra)", str(int(np.count_nonzero(d["ambiguous"])))))
        if novel is not None:
            rows.append(("unknown (spectra)", str(int(np.count_nonzero(novel)))))
        with np.errstate(invalid="ignore"):
            rows.append(("mean confidence", f"{np.nanmean(d['confidence']):.3f}"))
    for t in transitions:
        rows.append(("transition", f"{t['from_state']} → {t['to_state']} at {x_label} "
                                   f"{t['x']} (low confidence {t['low']}–{t['high']})"))
    if not transitions:
        rows.append(("transitions", "none"))
    for key in ("program", "date", "model_file", "model_checksum"):
        if prov.get(key):
            rows.append((key.replace("_", " "), str(prov[key])))
    inputs = prov.get("inputs") or []
    if inputs:
        rows.append(("inputs", ", ".join(inputs[:5]) + (f" … ({len(inputs)})"
                                                         if len(inputs) > 5 else "")))
    return rows


# ----------------------------------------------------------------------------- live page
def train_record(result) -> dict:
    """One train's point on the live page's timeline (small: a few numbers).

    Parameters
    ----------
    result : TrainSummary
        The train; optional fields it may carry (``unknown``, ``changes`` of the label-free
        detector) are taken where present.

    Returns
    -------
    dict
        ``train_id``, ``state`` (or None), ``confidence``, ``fractions`` (state -> float),
        ``unknown`` (fraction of the train's spectra), ``n_spectra``, ``latency`` (s),
        ``alert`` (text or None), ``model_reloaded``, ``changes`` (list of dicts).
    """
    n = max(int(getattr(result, "n_spectra", 0) or 0), 1)
    alert = getattr(result, "alert", None)
    changes = []
    for ev in getattr(result, "changes", None) or ():
        get = ev.get if isinstance(ev, dict) else (lambda k, e=ev: getattr(e, k, None))
        changes.append({k: _plain(get(k)) for k in ("index", "detected_at", "score",
                                                   "train_id") if get(k) is not None})
    return {
        "train_id": None if result.train_id is None else int(result.train_id),
        "state": result.state,
        "confidence": _finite(result.confidence),
        "fractions": {str(k): _finite(v) for k, v in (result.fractions or {}).items()},
        "unknown": int(getattr(result, "unknown", 0) or 0) / n,
        "n_spectra": int(getattr(result, "n_spectra", 0) or 0),
        "latency": _finite(getattr(result, "latency", math.nan)),
        "alert": None if alert is None else str(alert),
        "model_reloaded": bool(getattr(result, "model_reloaded", False)),
        "changes": changes,
    }


def _plain(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def _finite(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def train_mean(result, axis, max_points: int = MAX_SPECTRUM_POINTS):
    """The mean spectrum of one train (all its classified spectra), decimated, or None.

    Parameters
    ----------
    result : TrainSummary
        With ``state_means`` (the watch loop fills it).
    axis : array-like of shape (m,)
        The model's axis.
    max_points : int
        Most points kept.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray) or None
    """
    sm = getattr(result, "state_means", None)
    if sm is None or sm.counts.sum() == 0:
        return None
    mean = sm.sums.sum(axis=0) / sm.counts.sum()
    axis = np.asarray(axis, float)
    if axis.shape != mean.shape:
        axis = np.arange(mean.size, dtype=float)
    return decimate(axis, mean, max_points)
