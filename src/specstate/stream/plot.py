"""Live view of a watch session: state fractions and confidence along train ids."""

from __future__ import annotations

import base64
import io
import math
import os
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from ..exceptions import StreamError
from .results import TrainResult

# Temporary files are private (0600); the final file is readable like any other.
_FILE_MODE = 0o644

__all__ = ["LivePlot", "has_display"]

#: Seconds between redraws: often enough to follow a run, rare enough to cost little CPU.
DEFAULT_REFRESH_S = 3.0
#: Trains shown (the most recent ones); bounds memory and drawing time.
DEFAULT_HISTORY = 2000
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


class LivePlot:
    """State fractions and confidence along train ids, redrawn every few seconds.

    Parameters
    ----------
    target : path-like, optional
        A ``.png`` file, or a ``.html`` page that reloads itself; both replaced atomically.
        None: a matplotlib window (needs a display).
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
        if self.target is not None and self.target.suffix.lower() not in (".png", ".html"):
            raise StreamError(f"The live plot is written as .png or .html; got {self.target}.")
        self.classes = list(classes)
        self.refresh = float(refresh)
        self._tid = deque(maxlen=history)
        self._conf = deque(maxlen=history)
        self._frac = {c: deque(maxlen=history) for c in self.classes}
        self._last = -math.inf
        self._fig = None
        self.status = ""

    def update(self, result: TrainResult, *, status: str = "") -> bool:
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
        self.status = status or self.status
        now = time.monotonic()
        if now - self._last < self.refresh:
            return False
        self._last = now
        self.draw()
        return True

    def _figure(self):
        if self._fig is not None:
            return self._fig
        if self.target is None:
            import matplotlib.pyplot as plt

            plt.ion()
            fig = plt.figure(figsize=(9, 5))
        else:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(9, 5))
        self._axes = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        self._fig = fig
        return fig

    def draw(self) -> None:
        """Redraw now (window, or file through a temporary file + rename)."""
        fig = self._figure()
        ax_f, ax_c = self._axes
        ax_f.clear()
        ax_c.clear()
        tid = list(self._tid)
        for c in self.classes:
            ax_f.plot(tid, list(self._frac[c]), label=c, lw=1)
        ax_f.set_ylabel("fraction of spectra")
        ax_f.set_ylim(-0.02, 1.02)
        if self.classes:
            ax_f.legend(loc="upper left", fontsize="small", ncols=min(len(self.classes), 6))
        ax_c.plot(tid, list(self._conf), color="k", lw=1)
        ax_c.set_ylabel("confidence")
        ax_c.set_ylim(-0.02, 1.02)
        ax_c.set_xlabel("train id")
        ax_f.set_title(self.status or "specstate watch", fontsize="small")
        if self.target is None:
            import matplotlib.pyplot as plt

            fig.canvas.draw_idle()
            plt.pause(0.001)
            return
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        if self.target.suffix.lower() == ".html":
            content = _HTML.format(refresh=max(int(round(self.refresh)), 1),
                                   status=self.status,
                                   png=base64.b64encode(buf.getvalue()).decode("ascii"))
            payload = content.encode("utf-8")
        else:
            payload = buf.getvalue()
        fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", dir=self.target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, self.target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        """Draw a last time (and close the window's figure)."""
        self.draw()
        if self.target is None and self._fig is not None:
            import matplotlib.pyplot as plt

            plt.close(self._fig)
