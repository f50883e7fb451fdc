"""Live view of a watch session: state fractions and confidence along train ids.

A PNG or HTML file is drawn by a separate process (it gets a snapshot of the recent trains
every few seconds), so drawing never delays the trains; a window is drawn in the caller's
thread, as GUI toolkits require.
"""

from __future__ import annotations

import base64
import io
import math
import os
import queue
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

from ..exceptions import StreamError
from ..io._files import PLOT_SUFFIXES, atomic_write
from ..results import TrainSummary

__all__ = ["LivePlot", "has_display"]

#: Seconds between redraws: often enough to follow a run, rare enough to cost little CPU.
DEFAULT_REFRESH_S = 3.0
#: Trains shown (the most recent ones); bounds memory and drawing time.
DEFAULT_HISTORY = 2000
#: Seconds `close` waits for the drawing process to write the last file.
CLOSE_WAIT_S = 30.0
_FIGSIZE = (9, 5)
_DPI = 80
_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="{refresh}">
<title>specstate watch</title></head>
<body style="font-family:sans-serif">
<p>{status}</p>
<img alt="state fractions and confidence along train ids" src="data:image/png;base64,{png}">
</body></html>
"""


def has_display() -> bool:
    """Whether a matplotlib window can be opened."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _draw(axes, snap: dict) -> None:
    """Draw one snapshot on the (fractions, confidence) axes."""
    ax_f, ax_c = axes
    ax_f.clear()
    ax_c.clear()
    for c in snap["classes"]:
        ax_f.plot(snap["train_id"], snap["fractions"][c], label=c, lw=1)
    for tid, text in snap["alerts"]:
        for ax in axes:
            ax.axvline(tid, color="r", lw=0.8, ls="--")
        ax_f.annotate(text, (tid, 1.0), fontsize="x-small", color="r", rotation=90,
                      va="top", ha="right")
    ax_f.set_ylabel("fraction of spectra")
    ax_f.set_ylim(-0.02, 1.02)
    if snap["classes"]:
        ax_f.legend(loc="upper left", fontsize="small", ncols=min(len(snap["classes"]), 6))
    ax_c.plot(snap["train_id"], snap["confidence"], color="k", lw=1)
    ax_c.set_ylabel("confidence")
    ax_c.set_ylim(-0.02, 1.02)
    ax_c.set_xlabel("train id")
    ax_f.set_title(snap["status"] or "specstate watch", fontsize="small")


def _write_file(target: Path, fig, snap: dict, refresh: float) -> None:
    """Render to PNG, or to an HTML page embedding it; temporary file + rename."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    if target.suffix.lower() == ".html":
        payload = _HTML.format(refresh=max(int(round(refresh)), 1), status=snap["status"],
                               png=base64.b64encode(buf.getvalue()).decode("ascii"))
        payload = payload.encode("utf-8")
    else:
        payload = buf.getvalue()
    with atomic_write(target) as tmp:
        tmp.write_bytes(payload)


def _render_files(target: str, refresh: float, snapshots) -> None:
    """Drawing process: render the newest snapshot until None arrives."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the watch loop's to handle
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE)
    axes = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    path = Path(target)
    while True:
        snap = snapshots.get()
        done = snap is None
        while not done:  # skip to the newest snapshot
            try:
                newer = snapshots.get_nowait()
            except queue.Empty:
                break
            done = newer is None
            snap = newer if newer is not None else snap
        if snap is not None:
            _draw(axes, snap)
            _write_file(path, fig, snap, refresh)
        if done:
            return


class LivePlot:
    """State fractions and confidence along train ids, redrawn every few seconds.

    Parameters
    ----------
    target : path-like, optional
        A ``.png`` file, or a ``.html`` page that reloads itself; both replaced atomically by
        a separate drawing process. None: a matplotlib window (needs a display).
    classes : sequence of str
        The model's classes.
    refresh : float, default 3
        Seconds between redraws.
    history : int, default 2000
        Most recent trains shown.

    Raises
    ------
    StreamError
        If no file is given and there is no display, or the file type is unknown.
    """

    def __init__(self, target=None, classes=(), *, refresh: float = DEFAULT_REFRESH_S,
                 history: int = DEFAULT_HISTORY):
        self.target = None if target is None else Path(target)
        if self.target is None and not has_display():
            raise StreamError("There is no display for a plot window; give a file: "
                              "--plot live.png or --plot live.html.")
        if self.target is not None and self.target.suffix.lower() not in PLOT_SUFFIXES:
            raise StreamError(f"The live plot is written as .png or .html; got {self.target}.")
        if self.target is not None and not self.target.parent.is_dir():
            raise StreamError(f"The folder of the live plot {self.target} does not exist.")
        self.classes = list(classes)
        self.refresh = float(refresh)
        self.status = ""
        self._tid = deque(maxlen=history)
        self._conf = deque(maxlen=history)
        self._frac = {c: deque(maxlen=history) for c in self.classes}
        self._alerts = deque(maxlen=history)
        self._fig = None
        self._proc = None
        if self.target is not None:
            import multiprocessing as mp

            ctx = mp.get_context("spawn")  # never fork a process that holds zmq threads
            self._queue = ctx.Queue(maxsize=2)
            self._proc = ctx.Process(target=_render_files, daemon=True,
                                     args=(str(self.target), self.refresh, self._queue),
                                     name="specstate-live-plot")
            self._proc.start()
        self.draw()
        self._last = time.monotonic() - self.refresh  # the first train draws at once

    def update(self, result: TrainSummary, *, status: str = "") -> bool:
        """Add one train; redraw when `refresh` seconds passed. True if it redrew."""
        if result.train_id is not None and result.state is not None:
            self._tid.append(result.train_id)
            self._conf.append(result.confidence)
            for c in result.fractions:  # a reloaded model may bring new classes
                if c not in self._frac:
                    self.classes.append(c)
                    self._frac[c] = deque([math.nan] * (len(self._tid) - 1),
                                          maxlen=self._tid.maxlen)
            for c in self.classes:
                self._frac[c].append(result.fractions.get(c, math.nan))
        if result.alert is not None:
            self._alerts.append((result.alert.train_id,
                                 f"{result.alert.previous} -> {result.alert.state}"))
        self.status = status or self.status
        now = time.monotonic()
        if now - self._last < self.refresh:
            return False
        self._last = now
        self.draw()
        return True

    def _snapshot(self) -> dict:
        return {
            "train_id": np.fromiter(self._tid, np.int64, len(self._tid)),
            "confidence": np.fromiter(self._conf, np.float32, len(self._conf)),
            "fractions": {c: np.fromiter(v, np.float32, len(v)) for c, v in self._frac.items()},
            "classes": list(self.classes),
            "alerts": list(self._alerts),
            "status": self.status,
        }

    def draw(self) -> None:
        """Redraw now: hand a snapshot to the drawing process, or draw the window."""
        snap = self._snapshot()
        if self._proc is not None:
            try:
                self._queue.put_nowait(snap)
            except queue.Full:  # still drawing the previous ones: this one is skipped
                pass
            return
        import matplotlib.pyplot as plt

        if self._fig is None:
            plt.ion()
            self._fig = plt.figure(figsize=_FIGSIZE)
            self._axes = self._fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        _draw(self._axes, snap)
        self._fig.canvas.draw_idle()
        plt.pause(0.001)

    def close(self) -> None:
        """Draw the last state and wait for the file to be written (or close the window)."""
        if self._proc is not None:
            self._queue.put(self._snapshot(), timeout=CLOSE_WAIT_S)
            self._queue.put(None, timeout=CLOSE_WAIT_S)
            self._proc.join(CLOSE_WAIT_S)
            self._proc = None
            return
        if self._fig is not None:
            import matplotlib.pyplot as plt

            self.draw()
            plt.close(self._fig)
            self._fig = None
