"""Bokeh figures drawn from the panel data (:mod:`specstate.report.panels`).

Shared by the HTML report (:mod:`specstate.report.html`) and the live page
(:mod:`specstate.stream.page`). Bokeh is imported only here, when a page is made; every
figure is a standalone Bokeh model whose data sources have names, so the live page's
JavaScript can find them (``Bokeh.documents[0].get_model_by_name(name)``) and replace their
data as trains arrive.
"""

from __future__ import annotations

import html
import math

import numpy as np

from .figures import REGION_COLOUR, STATE_COLOURS
from .panels import ModelPanel, RunPanel

#: Figure sizes (pixels): wide enough for a screen, tall enough to read the lines.
WIDTH, TALL, SHORT = 1000, 330, 200
#: Opacity of a region's shading: MIN + (MAX - MIN) * weight / max weight (as in the PNGs).
MIN_ALPHA, MAX_ALPHA = 0.04, 0.45
#: Opacity of a reference's spread band (mean ± std).
BAND_ALPHA = 0.18
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def inline_js() -> str:
    """BokehJS as inline ``<script>`` tags (from the installed package: no CDN, no internet).

    Only the core bundle: the pages use no widgets, tables, WebGL or MathJax (about 1.3 MB
    instead of 4).
    """
    from bokeh.resources import Resources

    return Resources(mode="inline", components=["bokeh"]).render()


def colour(k: int) -> str:
    """Colour of the `k`-th state."""
    return STATE_COLOURS[k % len(STATE_COLOURS)]


def _figure(title, x_label, y_label, height=TALL, **kwargs):
    from bokeh.plotting import figure

    p = figure(title=title, width=WIDTH, height=height, tools=TOOLS,
               active_scroll="wheel_zoom", x_axis_label=x_label, y_axis_label=y_label,
               **kwargs)
    p.toolbar.logo = None
    return p


def _finite(a) -> np.ndarray:
    """Floats with NaN for JSON (Bokeh sends NaN in binary arrays, which JS reads fine)."""
    return np.asarray(a, dtype=float)


def region_source(model: ModelPanel, name: str = "regions"):
    """The regions as a data source: one quad per region, opacity by weight."""
    from bokeh.models import ColumnDataSource

    regions = model.regions
    w = np.nan_to_num([r["weight"] for r in regions], nan=0.0)
    w_max = w.max() if w.size and w.max() > 0 else 1.0
    return ColumnDataSource(name=name, data={
        "left": [r["start"] for r in regions], "right": [r["stop"] for r in regions],
        "alpha": (MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * w / w_max).tolist(),
        "separability": [r["separability"] for r in regions], "weight": w.tolist(),
        "region": list(range(len(regions))),
    })


def reference_figure(model: ModelPanel, *, title=None, live: bool = False):
    """Each state's reference spectrum (mean ± spread) on the regions shaded by weight.

    With `live`, a black line (data source ``'train_mean'``) for the latest train's mean.
    """
    from bokeh.models import ColumnDataSource, HoverTool

    p = _figure(title or "reference spectrum of each state; regions shaded by weight",
                model.axis_label, "intensity")
    regions = p.quad(left="left", right="right", bottom=0, top=1, source=region_source(model),
                     fill_color=REGION_COLOUR, fill_alpha="alpha", line_alpha=0,
                     y_range_name="unit")
    from bokeh.models import Range1d

    p.extra_y_ranges = {"unit": Range1d(0, 1)}
    p.add_tools(HoverTool(renderers=[regions], tooltips=[
        ("region", "@region"), ("from", "@left{0.000}"), ("to", "@right{0.000}"),
        ("separability", "@separability{0.00}"), ("weight", "@weight{0.000}")]))
    lines = []
    if model.reference_mean is not None:
        for k, c in enumerate(model.classes):
            mean = _finite(model.reference_mean[k])
            data = {"x": model.axis, "y": mean, "state": [c] * mean.size}
            if model.reference_std is not None:
                std = _finite(model.reference_std[k])
                data.update(lo=mean - std, hi=mean + std)
            src = ColumnDataSource(data, name=f"reference_{k}")
            if model.reference_std is not None:
                p.varea(x="x", y1="lo", y2="hi", source=src, fill_color=colour(k),
                        fill_alpha=BAND_ALPHA)
            lines.append(p.line("x", "y", source=src, color=colour(k), line_width=1.3,
                                legend_label=f"{c} (reference)"))
    if live:
        src = ColumnDataSource({"x": [], "y": []}, name="train_mean")
        lines.append(p.line("x", "y", source=src, color="black", line_width=1.2,
                            legend_label="latest train (mean)"))
    if lines:
        p.add_tools(HoverTool(renderers=lines, tooltips=[("state", "@state"),
                                                          ("x", "@x{0.000}"),
                                                          ("intensity", "@y{0.0}")]))
        p.legend.location = "top_right"
        p.legend.click_policy = "hide"
    return p


def region_score_figure(model: ModelPanel):
    """Held-out separability (outline) and weight (÷ max, filled) of each region."""
    from bokeh.models import HoverTool

    src = region_source(model, name="region_scores")
    w = np.asarray(src.data["weight"], float)
    src.data["weight_scaled"] = (w / w.max() if w.size and w.max() > 0 else w).tolist()
    src.data["sep0"] = np.nan_to_num(src.data["separability"]).tolist()
    p = _figure(f"{len(model.regions)} regions: separability (held out) and weight",
                model.axis_label, "score", height=SHORT, y_range=(0, 1.25))
    bars = p.quad(left="left", right="right", bottom=0, top="weight_scaled", source=src,
                  fill_color=REGION_COLOUR, fill_alpha=0.8, line_alpha=0,
                  legend_label="weight (÷ max)")
    p.quad(left="left", right="right", bottom=0, top="sep0", source=src, fill_alpha=0,
           line_color="#333333", legend_label="separability")
    p.add_tools(HoverTool(renderers=[bars], tooltips=[
        ("region", "@region"), ("separability", "@separability{0.00}"),
        ("weight", "@weight{0.000}")]))
    p.legend.orientation = "horizontal"
    p.legend.location = "top_right"
    return p


def run_figure(run: RunPanel, x_range=None):
    """The probability of each state along the run, transitions and low-confidence bands."""
    from bokeh.models import BoxAnnotation, ColumnDataSource, HoverTool, Span

    kwargs = {} if x_range is None else {"x_range": x_range}
    what = {"spectrum": "per spectrum", "train": "mean per train",
            "bin": "mean per bin of the run"}[run.per]
    p = _figure(f"state probability along the run ({what})", run.x_label, "probability",
                y_range=(-0.02, 1.05), **kwargs)
    data = {"x": run.x, "state": run.state.tolist(), "ids": run.ids,
            "confidence": _finite(run.confidence)}
    for k in range(len(run.classes)):
        data[f"p{k}"] = _finite(run.proba[:, k])
    src = ColumnDataSource(data, name="run_points")
    dots = []
    for k, c in enumerate(run.classes):
        p.line("x", f"p{k}", source=src, color=colour(k), line_alpha=0.6)
        dots.append(p.scatter("x", f"p{k}", source=src, color=colour(k), size=3,
                              legend_label=f"P({c})"))
    p.add_tools(HoverTool(renderers=dots, tooltips=[
        ("", "@ids"), ("state", "@state"), ("confidence", "@confidence{0.000}"),
        *((f"P({c})", f"@p{k}{{0.000}}") for k, c in enumerate(run.classes))]))
    for t in run.transitions:
        if t["high"] != t["low"]:
            p.add_layout(BoxAnnotation(left=t["low"], right=t["high"], fill_color="grey",
                                       fill_alpha=0.25, hatch_pattern="/", hatch_alpha=0.5))
        p.add_layout(Span(location=t["x"], dimension="height", line_dash="dashed",
                          line_color="black"))
    p.legend.location = "center_right"
    p.legend.click_policy = "hide"
    return p


def quality_figure(run: RunPanel, x_range):
    """Confidence, fraction ambiguous and (where scored) fraction unknown along the run."""
    from bokeh.models import ColumnDataSource, HoverTool

    p = _figure("confidence, ambiguity and unknown spectra", run.x_label, "value",
                height=SHORT, x_range=x_range, y_range=(-0.02, 1.05))
    data = {"x": run.x, "confidence": _finite(run.confidence),
            "ambiguous": _finite(run.ambiguous), "ids": run.ids}
    if run.unknown is not None:
        data["unknown"] = _finite(run.unknown)
    src = ColumnDataSource(data, name="run_quality")
    rs = [p.line("x", "confidence", source=src, color="black", legend_label="confidence"),
          p.line("x", "ambiguous", source=src, color="#999999",
                 legend_label="ambiguous" + (" (fraction)" if run.per != "spectrum" else ""))]
    if run.unknown is not None:
        rs.append(p.scatter("x", "unknown", source=src, color="#CC0000", size=3,
                            legend_label="unknown" + (" (fraction)" if run.per != "spectrum"
                                                      else "")))
    p.add_tools(HoverTool(renderers=rs, tooltips=[("", "@ids"),
                                                   ("confidence", "@confidence{0.000}"),
                                                   ("ambiguous", "@ambiguous{0.00}")]))
    p.legend.location = "bottom_right"
    p.legend.orientation = "horizontal"
    return p


def means_figure(run: RunPanel, model: ModelPanel | None):
    """The run's mean spectrum per state, over the model's references (dashed)."""
    from bokeh.models import ColumnDataSource, HoverTool

    means = run.state_means
    label = means["axis_label"] if means else (model.axis_label if model else "axis")
    p = _figure("the run's mean spectrum per state (solid) and the references (dashed)",
                label, "intensity")
    rs = []
    names = list(model.classes) if model else []
    if means:
        for k, name in enumerate(means["names"]):
            if means["counts"][k] == 0:
                continue
            j = names.index(name) if name in names else (len(names) + k)
            src = ColumnDataSource({"x": means["axis"], "y": _finite(means["mean"][k]),
                                    "state": [name] * len(means["axis"])},
                                   name=f"state_mean_{k}")
            c = "#CC0000" if name == "unknown" else colour(j)
            rs.append(p.line("x", "y", source=src, color=c, line_width=1.4,
                             legend_label=f"{name}: run ({int(means['counts'][k])} spectra)"))
    if model is not None and model.reference_mean is not None:
        for k, c in enumerate(model.classes):
            src = ColumnDataSource({"x": model.axis, "y": _finite(model.reference_mean[k]),
                                    "state": [c] * len(model.axis)})
            rs.append(p.line("x", "y", source=src, color=colour(k), line_dash="dashed",
                             legend_label=f"{c}: reference"))
    if rs:
        p.add_tools(HoverTool(renderers=rs, tooltips=[("state", "@state"), ("x", "@x{0.000}"),
                                                       ("intensity", "@y{0.0}")]))
        p.legend.click_policy = "hide"
    return p


def table_html(rows, table_id: str) -> str:
    """A two-column HTML table (label, value), escaped."""
    body = "".join(f"<tr><th>{html.escape(str(a))}</th><td>{html.escape(str(b))}</td></tr>"
                   for a, b in rows)
    return f'<table id="{table_id}" class="summary">{body}</table>'


def fmt(value, spec=".3f") -> str:
    """A number for a table ('n/a' when missing)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not math.isfinite(value) else format(value, spec)
