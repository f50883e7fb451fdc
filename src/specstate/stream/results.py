"""What the watch loop reports: a running :class:`WatchSummary` and the kinds of errors.

The per-train result is :class:`specstate.results.TrainSummary` (the one results type); its
old name ``TrainResult`` stays importable from here.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from ..results import Alert, TrainSummary

__all__ = ["TrainSummary", "TrainResult", "Alert", "WatchSummary", "ERROR_KINDS"]

#: The former name of :class:`specstate.results.TrainSummary`.
TrainResult = TrainSummary

#: Kinds of problems the loop counts (keys of :attr:`TrainSummary.errors`).
ERROR_KINDS = {
    "malformed": "message that could not be decoded",
    "missing_source": "train without the spectrum's source",
    "missing_key": "source without the spectrum's key",
    "bad_shape": "spectrum data that is not a (m,) or (n_pulses, m) numeric array",
    "wrong_length": "spectrum length different from the model's axis",
    "axis_mismatch": "spectrum axis different from the model's axis",
    "nonfinite": "spectra holding NaN or inf (counted per spectrum)",
    "missing_monitor": "train without the monitor source/key (classified without no-beam cut)",
    "monitor_shape": "monitor with fewer values than pulses (classified without no-beam cut)",
    "parse": "folder file that could not be read",
    "classify": "classifier failure on a train",
}

# Trains per second are shown over this sliding window (seconds): long enough to be stable,
# short enough to follow a change of the facility's rate.
RATE_WINDOW_S = 5.0
# How many recent latencies the summary keeps for its percentiles (bounded memory).
LATENCY_HISTORY = 10_000


@dataclass
class WatchSummary:
    """Running totals of a watch session (bounded memory, however long it runs).

    Attributes
    ----------
    trains : int
        Results produced (trains or files, errored ones included).
    classified_trains : int
        Trains with a state.
    spectra : int
        Spectra received.
    state_trains : Counter
        Trains per majority state.
    state_spectra : Counter
        Classified spectra per state.
    alerts : list of Alert
        Every state-change alert.
    errors : Counter
        Problems per kind, over the session.
    skipped, late : int
        Train ids missing in the stream; trains that arrived late or out of order.
    no_beam, ambiguous, unknown : int
        Spectra without beam; ambiguous spectra; spectra unlike every fitted state.
    timeouts, reconnects, model_reloads : int
        Receive timeouts, reconnections to the source, reloads of the model file.
    dropped : int
        Of the skipped trains, those received but dropped because classifying was behind
        (the others never arrived).
    changes : list of ChangeEvent
        Every label-free change event.
    """

    trains: int = 0
    classified_trains: int = 0
    spectra: int = 0
    state_trains: Counter = field(default_factory=Counter)
    state_spectra: Counter = field(default_factory=Counter)
    alerts: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    skipped: int = 0
    late: int = 0
    no_beam: int = 0
    ambiguous: int = 0
    unknown: int = 0
    timeouts: int = 0
    reconnects: int = 0
    model_reloads: int = 0
    dropped: int = 0
    changes: list = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    last_train_id: int | None = None
    _recent: deque = field(default_factory=deque, repr=False)
    _latencies: deque = field(default_factory=lambda: deque(maxlen=LATENCY_HISTORY),
                              repr=False)

    def add(self, result: TrainSummary) -> None:
        """Add one train's result to the totals."""
        now = time.monotonic()
        self.trains += 1
        self.spectra += result.n_spectra
        self.errors.update(result.errors)
        self.skipped += result.skipped_before
        self.late += int(result.late)
        self.no_beam += result.no_beam
        self.ambiguous += result.ambiguous
        self.unknown += result.unknown
        self.model_reloads += int(result.model_reloaded)
        if result.train_id is not None:
            self.last_train_id = result.train_id
        if result.state is not None:
            self.classified_trains += 1
            self.state_trains[result.state] += 1
            self.state_spectra.update({k: v for k, v in result.counts.items() if v})
            self._latencies.append(result.latency)
        if result.alert is not None:
            self.alerts.append(result.alert)
        self.changes.extend(result.changes)
        self._recent.append((now, result.n_spectra))
        while self._recent and now - self._recent[0][0] > RATE_WINDOW_S:
            self._recent.popleft()

    @property
    def elapsed(self) -> float:
        """Seconds since the session started."""
        return time.monotonic() - self.started

    def rates(self) -> tuple[float, float]:
        """Recent (trains/s, spectra/s) over the last few seconds."""
        if len(self._recent) < 2:
            return 0.0, 0.0
        span = max(time.monotonic() - self._recent[0][0], 1e-9)
        n = len(self._recent)
        return n / span, sum(s for _, s in self._recent) / span

    def latency_percentiles(self, q=(50, 99)) -> tuple[float, ...]:
        """Percentiles of the per-train latency (seconds) over the recent trains."""
        if not self._latencies:
            return tuple(math.nan for _ in q)
        return tuple(float(v) for v in np.percentile(np.fromiter(self._latencies, float), q))

    def format(self) -> str:
        """A multi-line human-readable summary."""
        elapsed = self.elapsed
        p50, p99 = self.latency_percentiles()
        lines = [
            f"trains: {self.trains} ({self.classified_trains} classified), spectra: "
            f"{self.spectra}, in {elapsed:.1f} s "
            f"({self.trains / max(elapsed, 1e-9):.1f} trains/s, "
            f"{self.spectra / max(elapsed, 1e-9):.0f} spectra/s)",
            f"latency per train: p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms",
            "states (trains): " + _counts(self.state_trains),
            "states (spectra): " + _counts(self.state_spectra),
            f"ambiguous spectra: {self.ambiguous}, no-beam spectra: {self.no_beam}"
            + (f", unknown spectra: {self.unknown}" if self.unknown else ""),
            f"alerts: {len(self.alerts)}",
            *(f"  {a}" for a in self.alerts),
            *([f"label-free changes: {len(self.changes)}",
               *(f"  {change_text(c)}" for c in self.changes)] if self.changes else []),
            "errors: " + _counts(self.errors),
            f"skipped trains: {self.skipped} ({self.dropped} dropped while classifying was "
            f"behind), late trains: {self.late}, "
            f"timeouts: {self.timeouts}, reconnects: {self.reconnects}, "
            f"model reloads: {self.model_reloads}",
        ]
        return "\n".join(lines)


def change_text(event) -> str:
    """One line for a label-free :class:`~specstate.ChangeEvent`: trains and spectra."""
    at = f"train {event.detected_train_id}" if event.detected_train_id is not None else \
        f"spectrum {event.detected_at}"
    since = f"train {event.train_id}, " if event.train_id is not None else ""
    return (f"change detected at {at}; estimated change point {since}spectrum "
            f"{event.index} (score {event.score:.0f}, threshold {event.threshold:.0f})")


def _counts(counter) -> str:
    items = [f"{k} {v}" for k, v in sorted(counter.items()) if v]
    return ", ".join(items) if items else "none"
