"""The HTML report: one self-contained, interactive file for a fitted model or a classified run.

The figures are Bokeh's (zoom, pan, hover naming each spectrum, its state and probability),
with BokehJS inlined from the installed package (``bokeh.resources.INLINE``): the file needs
no server and no internet. Tables and text are plain HTML beside the figures. What is drawn
comes from :mod:`specstate.report.panels`, as for the PNG panels and the live page.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from .._version import __version__
from ..exceptions import SpectraFileError
from . import _bokeh as B
from .panels import WEIGHT_NOTE, ModelPanel, RunPanel, find_model, model_panel, run_panel

__all__ = ["write_report", "report_html", "panels_of", "is_results_file"]

logger = logging.getLogger(__name__)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1040px;
       color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table.summary { border-collapse: collapse; margin: 0.5em 0; }
table.summary th { text-align: left; padding: 2px 14px 2px 0; font-weight: 600; }
table.summary td { padding: 2px 0; font-variant-numeric: tabular-nums; }
p.note { background: #fff4e0; padding: 0.4em 0.8em; border-left: 4px solid #E69F00; }
pre { background: #f5f5f5; padding: 0.6em; overflow-x: auto; }
footer { color: #777; font-size: 0.85em; margin-top: 2em; }
"""


def is_results_file(path) -> bool:
    """Whether `path` is a results file (a CSV table, or NeXus with ``/entry/spectra``)."""
    from ..io import _schema as S
    from ..io._files import CSV_SUFFIXES, open_hdf5

    path = Path(path)
    if path.suffix.lower() in CSV_SUFFIXES:
        return True
    with open_hdf5(path, what="a model or results file") as f:
        return f"{S.ENTRY}/{S.SPECTRA_DATA}" in f or f"{S.ENTRY}/{S.TRAINS_DATA}" in f


def panels_of(source, *, model=None) -> tuple[ModelPanel | None, RunPanel | None, list]:
    """The panel data of a model file or a results file.

    Parameters
    ----------
    source : path-like
        A model file (``specstate fit -o``) or a results file (``classify``/``watch -o``).
    model : path-like, optional
        For a results file: the model to show (default: the one the file records).

    Returns
    -------
    (ModelPanel or None, RunPanel or None, list of str)
        The model's and the run's panels, and notes on what is missing.

    Raises
    ------
    SpectraFileError
        If `source` does not exist.
    """
    from ..io.results import read_provenance

    source = Path(source)
    if not source.is_file():
        raise SpectraFileError(f"The file '{source}' does not exist.")
    if not is_results_file(source):
        from ..classifier import SpectraClassifier

        return model_panel(SpectraClassifier.load(source), str(source)), None, []
    clf, model_file, notes = find_model(source, model)
    mp = None if clf is None else model_panel(clf, model_file or "")
    rp = run_panel(source, provenance=read_provenance(source))
    return mp, rp, notes


def _model_section(mp: ModelPanel) -> tuple[str, dict]:
    score = mp.heldout
    rows = [("states", ", ".join(mp.classes)), ("regions", str(len(mp.regions))),
            ("held-out balanced accuracy", B.fmt(score.get("balanced_accuracy"))),
            ("held-out log loss", B.fmt(score.get("log_loss"))),
            ("held-out spectra", str(score.get("n", "n/a"))),
            ("linear member alone", B.fmt(score.get("linear_balanced_accuracy")))]
    if mp.quality:
        rows.append(("states separable", "yes" if mp.quality.get("separable", True) else
                     "NO: " + "; ".join(mp.quality.get("problems", []))))
    if mp.source:
        rows.append(("model file", mp.source))
    region_rows = [(f"region {k}: {r['start']:.3f} – {r['stop']:.3f}",
                    f"separability {B.fmt(r['separability'], '.2f')}, weight "
                    f"{B.fmt(r['weight'], '.3f')}") for k, r in enumerate(mp.regions)]
    text = ("<h2>The model</h2>" + B.table_html(rows, "model-summary")
            + "".join(f'<p class="note">{html.escape(n)}</p>' for n in mp.notes)
            + "{references}" + "{regions}"
            + f"<p>{html.escape(WEIGHT_NOTE)}</p>"
            + B.table_html(region_rows, "region-table")
            + "<h3>Fit plan</h3><pre id=\"fit-plan\">"
            + html.escape("\n".join(mp.plan) or "(not recorded)") + "</pre>")
    figures = {"references": B.reference_figure(mp)}
    if mp.regions:
        figures["regions"] = B.region_score_figure(mp)
    return text, figures


def _run_section(rp: RunPanel, mp: ModelPanel | None) -> tuple[str, dict]:
    run = B.run_figure(rp)
    figures = {"run": run, "quality": B.quality_figure(rp, run.x_range),
               "means": B.means_figure(rp, mp)}
    text = ("<h2>The run</h2>" + B.table_html(rp.summary, "run-summary")
            + "".join(f'<p class="note">{html.escape(n)}</p>' for n in rp.notes)
            + "{means}{run}{quality}"
            + "<p>Transitions: dashed lines; the shaded band between the last stable point "
              "of the old state and the first of the new one is the low-confidence "
              "interval.</p>")
    return text, figures


def report_html(mp: ModelPanel | None, rp: RunPanel | None, *, title: str = "specstate report",
                notes=()) -> str:
    """The report as one HTML document (BokehJS inlined).

    Parameters
    ----------
    mp : ModelPanel or None
        The model's panels.
    rp : RunPanel or None
        The run's panels.
    title : str
        Title of the page.
    notes : sequence of str
        Shown at the top (what is missing and why).

    Returns
    -------
    str
    """
    from bokeh.embed import components

    parts, figures = [], {}
    if rp is not None:
        text, figs = _run_section(rp, mp)
        parts.append(text)
        figures.update(figs)
    if mp is not None:
        text, figs = _model_section(mp)
        parts.append(text)
        figures.update(figs)
    script, divs = components(figures) if figures else ("", {})
    body = "".join(parts)
    for name in ("references", "regions", "run", "quality", "means"):
        body = body.replace("{" + name + "}", f'<div id="fig-{name}">{divs.get(name, "")}'
                                              "</div>")
    head = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><link rel=\"icon\" href=\"data:,\">"
            f"{B.inline_js()}{script}"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{head}{body}"
            f"<footer>specstate {__version__}: zoom with the mouse wheel, pan by dragging, "
            "hover a point for its spectrum, state and probability; click a legend entry to "
            "hide its line.</footer></body></html>\n")


def write_report(path, source=None, *, model=None, classification=None, state_means=None,
                 title: str | None = None) -> Path:
    """Write the HTML report of a model file, a results file, or objects in memory.

    Parameters
    ----------
    path : path-like
        The ``.html`` file to write (atomically: temporary file, then rename).
    source : path-like, optional
        A model file or a results file.
    model : SpectraClassifier or path-like, optional
        The model (for a results file: overrides the one it records).
    classification : Classification, optional
        A run classified in memory (with `model`, instead of `source`).
    state_means : specstate.means.StateMeans, optional
        The per-state sums of that run.
    title : str, optional
        Title of the report.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> write_report("report.html", "results.nxs")  # doctest: +SKIP
    """
    from ..io._files import atomic_write

    path = Path(path)
    notes: list = []
    if source is not None:
        mp, rp, notes = panels_of(source, model=model if isinstance(model, (str, Path))
                                  else None)
        if model is not None and not isinstance(model, (str, Path)):
            mp = model_panel(model)
        title = title or f"specstate report: {Path(source).name}"
    else:
        if isinstance(model, (str, Path)):
            from ..classifier import SpectraClassifier

            model = SpectraClassifier.load(model)
        mp = None if model is None else model_panel(model)
        rp = None if classification is None else run_panel(classification,
                                                           state_means=state_means)
        title = title or "specstate report"
    text = report_html(mp, rp, title=title, notes=notes)
    with atomic_write(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    logger.info("Wrote the report %s (%d kB).", path, len(text) // 1024)
    return path
