"""Where a sequence of spectra changes state, and how sure we are of it.

A run (a pressure ramp, a pump-probe delay scan, a stream of trains) is classified spectrum by
spectrum; :func:`locate_transitions` turns those per-spectrum states (or probabilities) into
the few places where the sample really changed state, ignoring isolated flickers, and reports
around each one the *low-confidence interval*: the spectra between the last of a stable run of
the old state and the first of a stable run of the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import SpectraFormatError

__all__ = ["Transition", "locate_transitions", "transition_error"]


@dataclass(frozen=True)
class Transition:
    """A change of state along a run.

    Attributes
    ----------
    index : int
        First spectrum of the new state: the best single change point, the one that
        disagrees least with the states inside the low-confidence interval.
    from_state, to_state : object
        The state before and after.
    low_confidence : tuple of int
        ``(last, first)``: the last spectrum of the stable run of `from_state` and the first
        of the stable run of `to_state`. Everything strictly between them is uncertain;
        ``first - last == 1`` means a clean change.
    """

    index: int
    from_state: Any
    to_state: Any
    low_confidence: tuple[int, int]

    @property
    def width(self) -> int:
        """Number of uncertain spectra between the two stable runs."""
        return self.low_confidence[1] - self.low_confidence[0] - 1


def _as_states(states_or_proba, classes, min_confidence, ambiguous):
    """Return (states as class indices, confident mask, class values)."""
    arr = np.asarray(states_or_proba)
    if arr.ndim == 2:
        if classes is None:
            classes = np.arange(arr.shape[1])
        classes = np.asarray(classes)
        if classes.shape != (arr.shape[1],):
            raise SpectraFormatError(
                f"The probabilities have {arr.shape[1]} columns but {classes.size} classes "
                "were given."
            )
        codes = np.argmax(arr, axis=1)
        confident = arr[np.arange(arr.shape[0]), codes] >= min_confidence
    elif arr.ndim == 1:
        classes, codes = np.unique(arr, return_inverse=True)
        confident = np.ones(arr.shape[0], dtype=bool)
    else:
        raise SpectraFormatError(
            "Expected per-spectrum states (n,) or probabilities (n, n_classes); "
            f"got shape {arr.shape}."
        )
    if ambiguous is not None:
        ambiguous = np.asarray(ambiguous, dtype=bool)
        if ambiguous.shape != codes.shape:
            raise SpectraFormatError(
                f"'ambiguous' must have one flag per spectrum ({codes.size}); "
                f"got shape {ambiguous.shape}."
            )
        confident &= ~ambiguous
    return codes, confident, classes


def _stable_runs(codes, confident, min_run):
    """Runs of >= min_run consecutive confident spectra of one state: (state, first, last)."""
    n = codes.size
    if n == 0:
        return []
    # A run breaks where the state changes or confidence is lost.
    key = np.where(confident, codes, -1)
    edges = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate(([0], edges))
    stops = np.concatenate((edges, [n]))  # exclusive
    keep = (key[starts] >= 0) & (stops - starts >= min_run)
    runs = [(int(key[a]), int(a), int(b) - 1) for a, b in zip(starts[keep], stops[keep])]
    # Merge neighbouring runs of the same state (a flicker between them is not a transition).
    merged = []
    for state, first, last in runs:
        if merged and merged[-1][0] == state:
            merged[-1] = (state, merged[-1][1], last)
        else:
            merged.append((state, first, last))
    return merged


def locate_transitions(
    states_or_proba,
    classes=None,
    *,
    min_run: int = 3,
    min_confidence: float = 0.5,
    ambiguous=None,
) -> list[Transition]:
    """Find where a run changes state.

    Parameters
    ----------
    states_or_proba : array-like of shape (n,) or (n, n_classes)
        Per-spectrum states (any labels) or class probabilities, in run order.
    classes : array-like of shape (n_classes,), optional
        Class of each probability column (e.g. ``clf.classes_``); default: column indices.
    min_run : int, default=3
        A state must hold for at least this many consecutive confident spectra to count;
        shorter flickers are ignored.
    min_confidence : float, default=0.5
        With probabilities: a spectrum is confident when its top probability reaches this.
    ambiguous : array-like of bool of shape (n,), optional
        Spectra flagged ambiguous by the classifier; they never start or extend a stable run.

    Returns
    -------
    list of Transition
        In run order; empty when the run holds one state.

    Raises
    ------
    SpectraFormatError
        If the input is not (n,) or (n, n_classes), or `classes` does not match.

    Examples
    --------
    >>> locate_transitions(["a"] * 5 + ["b", "a"] + ["b"] * 5)
    [Transition(index=5, from_state='a', to_state='b', low_confidence=(4, 7))]
    """
    if int(min_run) < 1:
        raise SpectraFormatError(f"min_run must be an int >= 1; got {min_run!r}.")
    codes, confident, classes = _as_states(states_or_proba, classes, min_confidence, ambiguous)
    runs = _stable_runs(codes, confident, int(min_run))
    transitions = []
    for (old, _, last), (new, first, _) in zip(runs[:-1], runs[1:]):
        # Best single change point c in (last, first]: spectra last+1..c-1 agree with `old`,
        # c..first-1 with `new`; choose c with the fewest disagreements (ties: earliest).
        inside = codes[last + 1 : first]
        agree_old = np.concatenate(([0], np.cumsum(inside == old)))
        agree_new = np.concatenate(([0], np.cumsum((inside == new)[::-1])))[::-1]
        c = last + 1 + int(np.argmax(agree_old + agree_new))
        transitions.append(
            Transition(
                index=c,
                from_state=classes[old].item() if hasattr(classes[old], "item") else classes[old],
                to_state=classes[new].item() if hasattr(classes[new], "item") else classes[new],
                low_confidence=(last, first),
            )
        )
    return transitions


def transition_error(transition: Transition, true_window: tuple[int, int]) -> int:
    """Distance in spectra between a located change point and the true transition window.

    Parameters
    ----------
    transition : Transition
        A located transition.
    true_window : tuple of int
        ``(start, stop)``: first and last spectrum of the true window (inclusive).

    Returns
    -------
    int
        0 when ``transition.index`` lies inside ``[start, stop + 1]`` (the first spectrum of
        the new state may be the one right after the window), else the distance to it.
    """
    start, stop = true_window
    if transition.index < start:
        return int(start - transition.index)
    if transition.index > stop + 1:
        return int(transition.index - stop - 1)
    return 0
