"""State-change alerts that do not flap on one noisy train."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..exceptions import SpecstateError
from .results import Alert

__all__ = ["StateChangeDetector", "UnknownAlert", "UnknownDetector"]


class StateChangeDetector:
    """Confirm a change of the train state once it has held for `n_trains` trains.

    The first state also needs `n_trains` trains in a row to be confirmed (without an
    alert). Trains without a state (no beam, errors) neither confirm nor break a run.

    Parameters
    ----------
    n_trains : int, default 3
        Consecutive trains in a new state needed to raise an alert (1: alert on every change).

    Examples
    --------
    >>> det = StateChangeDetector(n_trains=2)
    >>> [det.update(i, s) for i, s in enumerate(["a", "a", "b", "a", "b", "b"])][-1]
    Alert(train_id=4, confirmed_train_id=5, previous='a', state='b', time=...)  # doctest: +SKIP
    """

    def __init__(self, n_trains: int = 3):
        if not isinstance(n_trains, int) or n_trains < 1:
            raise SpecstateError(
                f"The 'alert_trains' parameter must be an int in [1, inf). Got {n_trains!r}."
            )
        self.n_trains = n_trains
        self.state: str | None = None
        self._candidate: str | None = None
        self._start: int | None = None
        self._run = 0

    def update(self, train_id: int, state: str | None) -> Alert | None:
        """Feed one train's state; return an :class:`Alert` when a change is confirmed."""
        if state is None:
            return None
        if state == self.state:
            self._candidate, self._run = None, 0
            return None
        if state == self._candidate:
            self._run += 1
        else:
            self._candidate, self._start, self._run = state, train_id, 1
        if self._run < self.n_trains:
            return None
        previous, self.state = self.state, state
        start = self._start
        self._candidate, self._run = None, 0
        if previous is None:  # the first confirmed state is not a change
            return None
        return Alert(train_id=start, confirmed_train_id=train_id, previous=previous,
                     state=state, time=time.time())


@dataclass(frozen=True)
class UnknownAlert:
    """Trains in which a large share of the spectra is unlike every fitted state.

    Attributes
    ----------
    train_id : int
        First train of the run of trains at or above the threshold.
    confirmed_train_id : int
        Train at which it was confirmed.
    fraction : float
        Share of unknown spectra in the confirming train.
    """

    train_id: int
    confirmed_train_id: int
    fraction: float

    def __str__(self) -> str:
        return (f"unknown spectra: {100 * self.fraction:.0f} % of train "
                f"{self.confirmed_train_id} (since train {self.train_id})")


class UnknownDetector:
    """Alert once when the unknown share of trains stays >= `threshold` for `n_trains`.

    Parameters
    ----------
    threshold : float, default 0.5
        Share of novel spectra in a train that counts.
    n_trains : int, default 3
        Consecutive such trains before the alert (as for state changes).
    """

    def __init__(self, threshold: float = 0.5, n_trains: int = 3):
        if not 0 < float(threshold) <= 1:
            raise SpecstateError(
                f"The 'unknown_alert' parameter must be a share in (0, 1]. Got {threshold!r}."
            )
        self.threshold = float(threshold)
        self.n_trains = int(n_trains)
        self._run = 0
        self._start: int | None = None
        self._alerted = False

    def update(self, train_id: int, unknown: int, n_scored: int) -> UnknownAlert | None:
        """Feed one train's unknown count out of `n_scored` spectra; an alert or None."""
        if n_scored <= 0:
            return None
        fraction = unknown / n_scored
        if fraction < self.threshold:
            self._run, self._alerted = 0, False
            return None
        if self._run == 0:
            self._start = train_id
        self._run += 1
        if self._run < self.n_trains or self._alerted:
            return None
        self._alerted = True
        return UnknownAlert(self._start, train_id, fraction)
