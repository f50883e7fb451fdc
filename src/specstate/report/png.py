"""The report's panels as PNG files (matplotlib, headless), for ``--plot DIR`` of fit/classify.

Drawn from the same panel data as the HTML report (:mod:`specstate.report.panels`): one file
per panel, so they can go into a logbook or a paper as they are.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .figures import REGION_COLOUR, save_figure, state_colour
from .panels import ModelPanel, RunPanel

__all__ = ["save_panels"]

logger = logging.getLogger(__name__)

_WIDE, _TALL, _SHORT = 9.0, 3.6, 2.2
#: Opacity of a region's shading and of a reference's spread, as in the HTML report.
MIN_ALPHA, MAX_ALPHA, BAND_ALPHA = 0.04, 0.45, 0.18


def _axes(height=_TALL):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_WIDE, height), layout="constrained")
    return fig, fig.add_subplot()


def _references(mp: ModelPanel):
    fig, ax = _axes()
    w = np.nan_to_num([r["weight"] for r in mp.regions], nan=0.0)
    w_max = w.max() if w.size and w.max() > 0 else 1.0
    for r, wk in zip(mp.regions, w):
        ax.axvspan(r["start"], r["stop"], color=REGION_COLOUR, lw=0,
                   alpha=MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * wk / w_max)
    if mp.reference_mean is not None:
        for k, c in enumerate(mp.classes):
            ax.plot(mp.axis, mp.reference_mean[k], color=state_colour(k), lw=0.9, label=c)
            if mp.reference_std is not None:
                ax.fill_between(mp.axis, mp.reference_mean[k] - mp.reference_std[k],
                                mp.reference_mean[k] + mp.reference_std[k],
                                color=state_colour(k), alpha=BAND_ALPHA, lw=0)
        ax.legend(fontsize=8, frameon=False)
    ax.set_xlabel(mp.axis_label)
    ax.set_ylabel("intensity")
    ax.set_title("reference spectrum of each state; regions shaded by weight", fontsize=9,
                 loc="left")
    return fig


def _regions(mp: ModelPanel):
    fig, ax = _axes(_SHORT)
    start = np.array([r["start"] for r in mp.regions])
    width = np.array([r["stop"] for r in mp.regions]) - start
    w = np.nan_to_num([r["weight"] for r in mp.regions], nan=0.0)
    sep = np.nan_to_num([r["separability"] for r in mp.regions], nan=0.0)
    ax.bar(start, w / (w.max() if w.max() > 0 else 1), width=width, align="edge",
           color=REGION_COLOUR, alpha=0.8, label="weight (÷ max)")
    ax.bar(start, sep, width=width, align="edge", color="none", edgecolor="0.25", lw=0.8,
           label="separability", zorder=3)
    ax.set_ylim(0, 1.3)
    ax.set_xlabel(mp.axis_label)
    ax.legend(fontsize=7, frameon=False, ncols=2, loc="upper right")
    ax.set_title(f"{len(mp.regions)} regions: separability (held out) and weight",
                 fontsize=9, loc="left")
    return fig


def _run(rp: RunPanel):
    fig, ax = _axes()
    for t in rp.transitions:
        if t["high"] != t["low"]:
            ax.axvspan(t["low"], t["high"], facecolor="none", edgecolor="k", hatch="///",
                       lw=0, alpha=0.6)
        ax.axvline(t["x"], color="k", ls="--", lw=1,
                   label=f"{t['from_state']} → {t['to_state']} at {t['x']}")
    for k, c in enumerate(rp.classes):
        ax.plot(rp.x, rp.proba[:, k], color=state_colour(k), lw=0.8, marker=".", ms=2,
                label=f"P({c})")
    if rp.unknown is not None and np.any(rp.unknown > 0):
        ax.plot(rp.x, rp.unknown, color="#CC0000", lw=0.8, label="unknown")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel(rp.x_label)
    ax.set_ylabel("probability")
    ax.legend(fontsize=7, frameon=False, ncols=4, loc="upper center",
              bbox_to_anchor=(0.5, -0.22))
    ax.set_title("state probability along the run", fontsize=9, loc="left")
    return fig


def _means(rp: RunPanel, mp: ModelPanel | None):
    fig, ax = _axes()
    names = list(mp.classes) if mp else []
    m = rp.state_means
    for k, name in enumerate(m["names"]):
        if m["counts"][k]:
            j = names.index(name) if name in names else len(names) + k
            ax.plot(m["axis"], m["mean"][k], lw=1, label=f"{name}: run",
                    color="#CC0000" if name == "unknown" else state_colour(j))
    if mp is not None and mp.reference_mean is not None:
        for k, c in enumerate(mp.classes):
            ax.plot(mp.axis, mp.reference_mean[k], lw=0.8, ls="--", color=state_colour(k),
                    label=f"{c}: reference")
    ax.set_xlabel(m["axis_label"])
    ax.set_ylabel("intensity")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("the run's mean spectrum per state and the references", fontsize=9,
                 loc="left")
    return fig


def save_panels(folder, model: ModelPanel | None = None, run: RunPanel | None = None
                ) -> list[Path]:
    """Write each panel as a PNG file into `folder` (created if missing).

    Parameters
    ----------
    folder : path-like
        Where the files go: ``references.png``, ``regions.png`` (a model),
        ``run.png``, ``state_means.png`` (a run).
    model : ModelPanel, optional
    run : RunPanel, optional

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = {}
    if model is not None:
        figures["references"] = _references(model)
        if model.regions:
            figures["regions"] = _regions(model)
    if run is not None:
        figures["run"] = _run(run)
        if run.state_means is not None:
            figures["state_means"] = _means(run, model)
    return [save_figure(fig, folder / f"{name}.png") for name, fig in figures.items()]
