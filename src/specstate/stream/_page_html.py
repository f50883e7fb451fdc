"""The HTML and JavaScript of the live page (figures from :mod:`specstate.report._bokeh`).

The page is built once per model; the payload (:meth:`LivePage.payload`) is JSON that the
page's script applies to named elements and to the Bokeh data sources ``timeline``,
``events`` and ``train_mean``. A live page subscribes to ``events`` (server-sent events); a
snapshot carries its payload and subscribes to nothing.
"""

from __future__ import annotations

import html
import json

from ..report import _bokeh as B

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1em auto; max-width: 1040px; color: #222; }
#head { display: flex; gap: 2.5em; align-items: baseline; flex-wrap: wrap; }
#state { font-size: 4.2em; font-weight: 700; }
#confidence { font-size: 2.4em; }
.small { color: #666; font-size: 0.95em; }
.kv span { margin-right: 1.6em; }
#alerts { list-style: none; padding: 0; max-height: 12em; overflow-y: auto; }
#alerts li { padding: 2px 6px; margin: 2px 0; border-left: 4px solid #999; }
#alerts li.state { border-color: #0072B2; } #alerts li.unknown { border-color: #CC0000; }
#alerts li.silent { border-color: #E69F00; } #alerts li.change { border-color: #CC79A7; }
#status.silent { color: #CC0000; font-weight: 600; }
"""

_SCRIPT = """
<script>
(function () {
  const LIVE = __LIVE__;
  const COLOURS = __COLOURS__;
  let pending = null;
  function text(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value;
  }
  function num(v, digits) { return v === null || v === undefined ? "–" : v.toFixed(digits); }
  function sources() {
    if (!window.Bokeh || !Bokeh.documents || !Bokeh.documents.length) return null;
    return Bokeh.documents[0];
  }
  function draw(p) {
    const doc = sources();
    if (!doc) { pending = p; return; }
    const tl = doc.get_model_by_name("timeline");
    if (tl) tl.data = p.timeline;
    const ev = doc.get_model_by_name("events");
    if (ev) ev.data = p.events;
    const tm = doc.get_model_by_name("train_mean");
    if (tm && p.mean) tm.data = p.mean;
  }
  function apply(p) {
    window.specstatePayload = p;
    const state = p.state !== null && p.state !== undefined ? p.state
                  : (p.model ? "–" : "label-free");
    text("state", state);
    const k = p.classes.indexOf(p.state);
    document.getElementById("state").style.color = k >= 0 ? COLOURS[k % COLOURS.length]
                                                          : "#222";
    text("confidence", p.confidence === null || p.confidence === undefined ? ""
                       : "confidence " + num(p.confidence, 2));
    text("train-id", p.train_id === null || p.train_id === undefined ? "–" : p.train_id);
    text("unknown", p.unknown === null || p.unknown === undefined ? "–"
                    : (100 * p.unknown).toFixed(0) + " %");
    text("throughput", p.spectra_per_s === null ? "–"
         : num(p.trains_per_s, 1) + " trains/s, " + p.spectra_per_s.toFixed(0) + " spectra/s");
    text("lag", p.latency_ms === null ? "–"
         : "latency " + num(p.latency_ms, 0) + " ms, last train " + num(p.lag_s, 1) + " s ago");
    text("status", p.status);
    document.getElementById("status").className = p.status === "source silent" ? "silent" : "";
    text("updated", p.updated);
    const ul = document.getElementById("alerts");
    ul.replaceChildren(...p.alerts.map(a => {
      const li = document.createElement("li");
      li.className = a.kind;
      li.textContent = a.time + "  " + a.text;
      return li;
    }));
    draw(p);
  }
  window.specstateApply = apply;
  const timer = setInterval(() => {
    if (pending && sources()) { const p = pending; pending = null; draw(p); }
    if (sources() && !pending) clearInterval(timer);
  }, 100);
  apply(JSON.parse(document.getElementById("payload").textContent));
  if (LIVE) {
    const es = new EventSource("events");
    es.onmessage = e => apply(JSON.parse(e.data));
    es.onerror = () => text("status", "connection lost; reconnecting…");
  }
})();
</script>
"""


def timeline_figure(classes, with_model: bool):
    """Fraction of each state, confidence and unknown fraction along train ids (live)."""
    from bokeh.models import ColumnDataSource, HoverTool

    data = {"train_id": [], "confidence": [], "unknown": []}
    for k in range(len(classes)):
        data[f"f{k}"] = []
    src = ColumnDataSource(data, name="timeline")
    p = B._figure("state timeline: fraction of each train's spectra per state", "train id",
                  "fraction", y_range=(-0.02, 1.08))
    rs = []
    for k, c in enumerate(classes):
        rs.append(p.line("train_id", f"f{k}", source=src, color=B.colour(k), line_width=1.5,
                         legend_label=c))
    if with_model:
        rs.append(p.line("train_id", "confidence", source=src, color="black", line_dash="dotted",
                         legend_label="confidence"))
    rs.append(p.line("train_id", "unknown", source=src, color="#CC0000", line_dash="dashed",
                     legend_label="unknown"))
    events = ColumnDataSource({"train_id": [], "y": []}, name="events")
    p.scatter("train_id", "y", source=events, marker="inverted_triangle", size=11,
              color="#CC79A7", legend_label="alert / change")
    p.add_tools(HoverTool(renderers=rs, tooltips=[("train", "@train_id"),
                                                   ("confidence", "@confidence{0.00}"),
                                                   ("unknown", "@unknown{0.00}")]))
    p.legend.location = "bottom_left"
    p.legend.orientation = "horizontal"
    p.legend.click_policy = "hide"
    return p


def page_html(panel, classes, *, live: bool = True) -> str:
    """The live page (or a snapshot of it) for a model's panel (None: label-free).

    The payload goes where ``__INITIAL_PAYLOAD__`` stands (:meth:`LivePage.html`).
    """
    from bokeh.embed import components

    figures = {"timeline": timeline_figure(classes, panel is not None)}
    if panel is not None:
        figures["spectrum"] = B.reference_figure(
            panel, live=True, title="latest train's mean spectrum (black) against the "
                                    "references; regions shaded by weight")
    script, divs = components(figures)
    what = ("live page (read-only)" if live else "snapshot (rewritten every few seconds; "
            "specstate watch --serve PORT gives the live page)")
    body = f"""
<div id="head"><div id="state">–</div><div id="confidence"></div></div>
<div class="kv"><span>train <b id="train-id">–</b></span><span>unknown <b id="unknown">–</b>
</span><span id="throughput">–</span><span id="lag">–</span></div>
<p class="small"><span id="status">waiting for the first train</span> · updated
<span id="updated">–</span> · {html.escape(what)}</p>
<h3>Alerts</h3><ul id="alerts"></ul>
{divs["timeline"]}{divs.get("spectrum", "")}
"""
    js = (_SCRIPT.replace("__LIVE__", "true" if live else "false")
          .replace("__COLOURS__", json.dumps(list(B.STATE_COLOURS))))
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>specstate watch</title><link rel=\"icon\" href=\"data:,\">"
            f"{B.inline_js()}{script}<style>{_STYLE}</style>"
            f"</head><body>{body}<script type=\"application/json\" id=\"payload\">"
            f"__INITIAL_PAYLOAD__</script>{js}</body></html>\n")
