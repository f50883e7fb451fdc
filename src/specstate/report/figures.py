"""Figures of a fitted classifier and of a classified run (matplotlib, headless-safe).

Every function draws on a given :class:`matplotlib.axes.Axes` or makes its own figure with
:class:`matplotlib.figure.Figure` directly (no ``pyplot``, so no window and no global state);
matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..exceptions import SpectraFormatError

__all__ = ["plot_regions", "plot_region_scores", "plot_run", "demo_figure", "save_figure"]

logger = logging.getLogger(__name__)

# Colour of each state, in the order of clf.classes_ (matplotlib's colour-blind-safe cycle).
STATE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
REGION_COLOUR = "#E69F00"
WINDOW_COLOUR = "0.55"
# A region of weight w is shaded with opacity MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * w / max(w).
MIN_ALPHA, MAX_ALPHA = 0.04, 0.45
# Vertical distance between stacked spectra, as a fraction of the largest spectrum's range.
SPECTRUM_OFFSET = 0.75
DEFAULT_DPI = 130
# Top of the region-score panel (scores are <= 1; the space above holds the legend).
BAR_HEADROOM = 1.35
# Zoom inset of the run panel: its box (axes fraction: x, y, width, height), the patterns
# shown either side of the transitions / true window, and the largest share of the run it
# may span (beyond that a zoom shows nothing new).
ZOOM_BOX = (0.58, 0.2, 0.38, 0.55)
ZOOM_MARGIN = 12
ZOOM_MAX_FRACTION = 1 / 3


def _new_axes(ax, figsize=(8, 3.5)):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").add_subplot()


def state_colour(k: int) -> str:
    """Colour of the `k`-th state (cycled)."""
    return STATE_COLOURS[k % len(STATE_COLOURS)]


def _regions(clf):
    regions = getattr(clf, "regions_", None)
    if not regions:
        raise SpectraFormatError("The classifier has no regions_; fit it before plotting.")
    return regions


def _unit(clf, spectra=None):
    name = getattr(clf, "axis_name_", None) or getattr(spectra, "axis_name", "") or ""
    unit = getattr(clf, "axis_unit_", None) or getattr(spectra, "axis_unit", "") or ""
    label = {"2theta": "2θ", "energy": "energy", "q": "q", "d": "d"}.get(name, name or "axis")
    return f"{label} ({unit})" if unit else label


def _weights(regions):
    w = np.array([r.weight for r in regions], dtype=float)
    return np.nan_to_num(w, nan=0.0)


def plot_regions(clf, spectra, ax=None, *, indices=None, n_show: int = 4, labels=None):
    """Spectra, stacked with an offset, on the classifier's regions shaded by weight.

    Parameters
    ----------
    clf : SpectraClassifier
        A fitted classifier (``regions_``, ``classes_``).
    spectra : Spectra
        Spectra to draw (on their own axis).
    ax : matplotlib.axes.Axes, optional
        Where to draw; default: a new figure.
    indices : sequence of int, optional
        Which spectra to draw (bottom to top); default: `n_show` evenly spread ones.
    n_show : int, default=4
        Number of spectra drawn when `indices` is not given.
    labels : sequence, optional
        A state per drawn spectrum, used for its colour and legend (default: the spectra's
        own labels, if any).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax)
    regions = _regions(clf)
    x = np.asarray(spectra.axis)
    y = np.asarray(spectra.intensity)
    if indices is None:
        indices = np.unique(np.linspace(0, y.shape[0] - 1, min(n_show, y.shape[0])).astype(int))
    indices = np.asarray(indices, dtype=int)
    if labels is None and spectra.labels is not None:
        labels = np.asarray(spectra.labels)[indices]
    classes = list(np.asarray(clf.classes_).tolist())
    w = _weights(regions)
    w_max = w.max() if w.max() > 0 else 1.0
    for r, wk in zip(regions, w):
        alpha = MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * wk / w_max
        ax.axvspan(r.start, r.stop, color=REGION_COLOUR, alpha=alpha, lw=0)
        ax.axvline(r.start, color="0.6", lw=0.4)
    ax.axvline(regions[-1].stop, color="0.6", lw=0.4)
    shown = y[indices].astype(float)
    lo = np.percentile(shown, 1, axis=1, keepdims=True)
    shown -= lo  # bottom of each spectrum at its own zero, then stack
    step = SPECTRUM_OFFSET * float(np.max(shown)) if shown.size else 1.0
    seen = set()
    for k, (i, row) in enumerate(zip(indices, shown)):
        state = None if labels is None else labels[k]
        colour = state_colour(classes.index(state)) if state in classes else "0.3"
        name = f"{state}" if state is not None and state not in seen else None
        seen.add(state)
        ax.plot(x, row + k * step, color=colour, lw=0.7, label=name)
        ax.annotate(f"#{i}", (x[-1], k * step + float(np.median(row))), fontsize=7,
                    xytext=(3, 0), textcoords="offset points", va="center", color=colour)
    ax.set_xlim(x[0], x[-1])
    ax.set_yticks([])
    ax.set_ylabel("intensity (offset)")
    ax.set_xlabel(_unit(clf, spectra))
    if labels is not None:
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=len(seen))
    ax.set_title("spectra; regions shaded by weight", fontsize=9, loc="left")
    return ax


def plot_region_scores(clf, ax=None):
    """Separability and weight of each region, as bars spanning the region on the axis.

    Parameters
    ----------
    clf : SpectraClassifier
        A fitted classifier.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax, figsize=(8, 2))
    regions = _regions(clf)
    start = np.array([r.start for r in regions], dtype=float)
    stop = np.array([r.stop for r in regions], dtype=float)
    sep = np.nan_to_num(np.array([r.separability for r in regions], dtype=float))
    w = _weights(regions)
    width = stop - start
    ax.bar(start, sep, width=width, align="edge", color="none", edgecolor="0.25", lw=0.8,
           label="separability", zorder=3)  # outlines drawn over the weight bars
    w_scaled = w / w.max() if w.max() > 0 else w
    ax.bar(start, w_scaled, width=width, align="edge", color=REGION_COLOUR, alpha=0.8,
           lw=0, label="weight (÷ max)")
    ax.set_ylim(0, BAR_HEADROOM)
    ax.set_xlim(start.min(), stop.max())
    ax.set_xlabel(_unit(clf))
    ax.set_ylabel("score")
    ax.legend(loc="upper right", fontsize=7, frameon=False, ncols=2)
    ax.set_title(f"{len(regions)} regions: separability (held out) and weight",
                 fontsize=9, loc="left")
    return ax


def _zoom_span(transitions, truth, n):
    """Range of spectra the zoom shows: the transitions and the true window, or None."""
    ends = [v for t in transitions for v in t.low_confidence]
    if truth is not None:
        ends += list(truth)
    if not ends:
        return None
    lo = max(-0.5, min(ends) - ZOOM_MARGIN)
    hi = min(n - 0.5, max(ends) + ZOOM_MARGIN)
    return (lo, hi) if hi - lo < ZOOM_MAX_FRACTION * n else None


def _draw_run(ax, p, classes, transitions, truth, true_labels, train):
    n = p.shape[0]
    idx = np.arange(n)
    if truth is not None:
        ax.axvspan(truth[0] - 0.5, truth[1] + 0.5, color=WINDOW_COLOUR, alpha=0.3, lw=0,
                   label="true transition window")
    for t in transitions:
        last, first = t.low_confidence
        if first - last > 1:
            ax.axvspan(last + 0.5, first - 0.5, facecolor="none", edgecolor="k", hatch="///",
                       lw=0, alpha=0.6, label="low-confidence interval")
        ax.axvline(t.index - 0.5, color="k", lw=1, ls="--",
                   label=f"located: {t.from_state} → {t.to_state} at #{t.index}")
    pred = np.argmax(p, axis=1)
    for k, c in enumerate(classes):
        colour = state_colour(k)
        ax.plot(idx, p[:, k], color=colour, lw=0.8, alpha=0.7)
        mine = pred == k
        ax.scatter(idx[mine], p[mine, k], s=6, color=colour, label=f"P({c}), predicted {c}",
                   zorder=3)
    if true_labels is not None:
        true_labels = np.asarray(true_labels)
        known = np.isin(true_labels, np.asarray(classes))
        wrong = known & (np.asarray(classes, dtype=object)[pred] != true_labels)
        if wrong.any():
            ax.scatter(idx[wrong], p[wrong, pred[wrong]], marker="x", s=30, color="k",
                       label=f"wrong ({int(wrong.sum())})", zorder=4)
    if train is not None:
        train = np.asarray(train, dtype=int)
        ax.scatter(train, np.full(train.size, 1.06), marker="v", s=22, color="k",
                   clip_on=False, label="training spectra", zorder=4)


def plot_run(proba, transitions=(), truth=None, ax=None, *, classes=None, true_labels=None,
             train=None, zoom: bool = True):
    """The state along a run: probability of each state per spectrum, transitions marked.

    Parameters
    ----------
    proba : array-like of shape (n, n_classes) or Classification
        Per-spectrum probabilities (or a classification with ``proba``), in run order.
    transitions : sequence of Transition, optional
        Located transitions (:func:`specstate.locate_transitions`); the change point is drawn
        as a line, the low-confidence interval as a hatched band.
    truth : (int, int), optional
        First and last spectrum of the true transition window (drawn as a grey band).
    ax : matplotlib.axes.Axes, optional
        Where to draw; default: a new figure.
    classes : sequence, optional
        State of each probability column (default: column numbers).
    true_labels : array-like of shape (n,), optional
        True states; wrongly classified spectra are marked with a cross.
    train : array-like of int, optional
        Indices of the training spectra (marked with triangles).
    zoom : bool, default=True
        Add an inset magnifying the transitions and the true window (when they span less
        than a third of the run).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax)
    p = np.asarray(getattr(proba, "proba", proba), dtype=float)
    if p.ndim != 2:
        raise SpectraFormatError(f"Expected probabilities of shape (n, n_classes); got {p.shape}.")
    n, n_classes = p.shape
    classes = list(range(n_classes)) if classes is None else list(np.asarray(classes).tolist())
    _draw_run(ax, p, classes, transitions, truth, true_labels, train)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(-0.02, 1.1)
    ax.set_xlabel("spectrum (run order)")
    ax.set_ylabel("probability")
    span = _zoom_span(transitions, truth, n)
    if zoom and span is not None:
        inset = ax.inset_axes(ZOOM_BOX)
        _draw_run(inset, p, classes, transitions, truth, true_labels, train)
        inset.set_xlim(*span)
        inset.set_ylim(-0.02, 1.1)
        inset.tick_params(labelsize=7)
        inset.set_title("around the transition", fontsize=7)
        ax.indicate_inset_zoom(inset, edgecolor="0.4")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=7, frameon=False,
              ncols=3)
    ax.set_title("state along the run", fontsize=9, loc="left")
    return ax


def demo_figure(clf, spectra, proba, transitions=(), *, truth=None, train=None, indices=None,
                title=None):
    """The figure of the demo: spectra with regions, region scores, and the run's states.

    Parameters
    ----------
    clf : SpectraClassifier
        The fitted classifier.
    spectra : Spectra
        The whole run (labels, if present, are the truth).
    proba : array-like of shape (n, n_classes) or Classification
        The run's classification.
    transitions : sequence of Transition, optional
        Located transitions.
    truth : (int, int), optional
        True transition window (first and last spectrum).
    train : array-like of int, optional
        Indices of the training spectra.
    indices : sequence of int, optional
        Spectra drawn in the top panel (default: the training spectra's outermost and two
        from either side of the transition).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 9), layout="constrained")
    grid = fig.add_gridspec(3, 1, height_ratios=(3.2, 1.2, 2.4))
    ax_spec = fig.add_subplot(grid[0])
    ax_bars = fig.add_subplot(grid[1], sharex=ax_spec)
    ax_run = fig.add_subplot(grid[2])
    n = len(spectra)
    if indices is None:
        picks = [0, n - 1]
        if truth is not None:
            picks += [max(0, truth[0] - 1), min(n - 1, truth[1] + 1)]
        indices = sorted(set(picks))
    plot_regions(clf, spectra, ax=ax_spec, indices=indices)
    ax_spec.set_xlabel("")
    plot_region_scores(clf, ax=ax_bars)
    true_labels = None if spectra.labels is None else np.asarray(spectra.labels)
    plot_run(proba, transitions, truth, ax=ax_run, classes=clf.classes_,
             true_labels=true_labels, train=train)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def save_figure(fig, path, *, dpi: int = DEFAULT_DPI) -> Path:
    """Save `fig` as an image (format from the extension), via a temporary file and rename.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or path-like
        Target file, e.g. ``demo.png``.
    dpi : int, default=130
        Resolution.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, format=fmt, dpi=dpi)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("Wrote figure %s.", path)
    return path
