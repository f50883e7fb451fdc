"""Classify live streams (Karabo bridge) and growing folders train by train.

Examples
--------
>>> from specstate.stream import watch
>>> for r in watch("model.h5", "tcp://localhost:4545", source_name="SPEC:output",
...                key="data.spectrum", max_trains=10):  # doctest: +SKIP
...     print(r.train_id, r.state, r.confidence)
"""

from .alerts import StateChangeDetector
from .loop import Watcher, watch
from .plot import LivePlot
from .results import ERROR_KINDS, Alert, TrainResult, WatchSummary
from .sinks import CsvSink, NexusSink, open_sink
from .sources import BridgeSource, FolderSource, Idle, Packet, open_source

__all__ = [
    "watch",
    "Watcher",
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
]
