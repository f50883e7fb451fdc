"""Classify live streams (Karabo bridge) and growing folders train by train.

The modules, along the data's way:

- :mod:`~specstate.stream.packets`: :class:`Packet` (one train or file as it arrived) and
  :class:`Idle`, what every source yields; the sources import them, never the other way.
- :mod:`~specstate.stream.bridge`, :mod:`~specstate.stream.folder`, and
  :mod:`~specstate.stream.sources` (:func:`open_source`): :class:`BridgeSource` reads a
  Karabo bridge endpoint with ``karabo_bridge.Client`` (REQ or SUB; a background thread
  receives a few trains ahead; timeouts, reconnection with backoff, undecodable messages)
  and finds the spectrum (``source``/``key``) and the per-pulse monitor in each train;
  :class:`FolderSource` polls a folder and reads each new file that :func:`specstate.read`
  reads once, in natural order, when complete.
- :mod:`~specstate.stream.loop`: :class:`Watcher` / :func:`watch` classify each train with a
  :class:`~specstate.SpectraClassifier` (reloaded when its file is replaced), drop no-beam and
  non-finite spectra, count problems per kind and yield one
  :class:`~specstate.results.TrainSummary` per train.
- :mod:`~specstate.stream.alerts`: :class:`StateChangeDetector`, alerts that need a new state
  to hold for N trains.
- :mod:`~specstate.stream.sinks`: CSV appended and flushed per train; NeXus appended every
  few trains (the one layout of :mod:`specstate.io.results`).
- :mod:`~specstate.stream.plot`: the live view (PNG/HTML drawn by a separate process, or a
  window).
- :mod:`~specstate.stream.page`: :class:`LivePage`, the live dashboard in the browser
  (``watch --serve``; its snapshot is ``watch --plot FILE.html``), fed by
  :meth:`LivePage.publish`, which never blocks the loop.
- :mod:`~specstate.stream.results`: the running :class:`WatchSummary` and the error kinds.

Examples
--------
>>> from specstate.stream import watch
>>> for r in watch("model.h5", "tcp://localhost:4545", source_name="SPEC:output",
...                key="data.spectrum", max_trains=10):  # doctest: +SKIP
...     print(r.train_id, r.state, r.confidence)
"""

from ..results import Alert, TrainSummary
from .alerts import StateChangeDetector
from .bridge import BridgeSource
from .folder import FolderSource
from .loop import Watcher, watch
from .packets import Idle, Packet
from .page import LivePage
from .plot import LivePlot
from .results import ERROR_KINDS, TrainResult, WatchSummary
from .sinks import CsvSink, NexusSink, open_sink
from .sources import open_source

__all__ = [
    "watch",
    "Watcher",
    "TrainSummary",
    "TrainResult",
    "Alert",
    "WatchSummary",
    "ERROR_KINDS",
    "StateChangeDetector",
    "BridgeSource",
    "FolderSource",
    "Packet",
    "Idle",
    "open_source",
    "CsvSink",
    "NexusSink",
    "open_sink",
    "LivePlot",
    "LivePage",
]
