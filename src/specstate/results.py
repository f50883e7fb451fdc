"""What classifying gives: a :class:`Classification` per spectrum, a :class:`TrainSummary` a train.

One results type for every path: :meth:`specstate.SpectraClassifier.classify` returns a
:class:`Classification` (without ids: the classifier sees only intensities); the caller that
knows where the spectra came from attaches their ids with :meth:`Classification.with_ids`
(``classify``, ``demo`` and :mod:`specstate.parallel` from the :class:`~specstate.Spectra`
they read, the watch loop from the train). :class:`TrainSummary` is the aggregate of one train
(counts per state, majority state, confidence) plus the fields only a stream has (latency,
skipped and late trains, errors, alerts). The writers in :mod:`specstate.io.results` and
:mod:`specstate.stream.sinks` take these two types and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

__all__ = ["Classification", "TrainSummary", "Alert", "spectrum_files", "aggregate"]

#: State name of the spectra that are novel (unlike every fitted state) in the summaries.
UNKNOWN = "unknown"

#: Per-spectrum fields of :class:`Classification` that are arrays of length n (or None).
_PER_SPECTRUM = ("labels", "proba", "confidence", "ambiguous", "novelty", "novel",
                 "spectrum_index", "files", "train_ids", "pulse_ids")


@dataclass
class Classification:
    """The state of n spectra: labels, probabilities, confidence, ambiguity, and their ids.

    Attributes
    ----------
    labels : numpy.ndarray of shape (n,)
        Most probable state of each spectrum (values of `classes`).
    proba : numpy.ndarray of shape (n, n_classes), float32
        Calibrated probability of each state.
    confidence : numpy.ndarray of shape (n,)
        Probability of the chosen state.
    ambiguous : numpy.ndarray of bool of shape (n,)
        True where the two most probable states are closer than the classifier's
        ``ambiguous_margin``.
    classes : numpy.ndarray
        The states, in the column order of `proba`.
    novelty : numpy.ndarray of shape (n,), optional
        How unlike every fitted state each spectrum is (larger: less like any); None when the
        model does not score novelty.
    novel : numpy.ndarray of bool of shape (n,), optional
        True where a spectrum is unlike every fitted state; such spectra count as
        ``'unknown'`` and in no state in every summary.
    spectrum_index : numpy.ndarray of int, optional
        Number of each spectrum in its input (kept when some were dropped); None: 0..n-1.
    files : numpy.ndarray of str, optional
        File each spectrum came from, where known.
    train_ids, pulse_ids : numpy.ndarray of int, optional
        Train id and pulse index of each spectrum, where known.

    Examples
    --------
    >>> result = clf.classify(spectra).with_ids(spectra)  # doctest: +SKIP
    >>> result.counts()  # doctest: +SKIP
    {'bcc': 180, 'hcp': 165}
    """

    labels: np.ndarray
    proba: np.ndarray
    confidence: np.ndarray
    ambiguous: np.ndarray
    classes: np.ndarray
    novelty: np.ndarray | None = None
    novel: np.ndarray | None = None
    spectrum_index: np.ndarray | None = None
    files: np.ndarray | None = None
    train_ids: np.ndarray | None = None
    pulse_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, rows) -> Classification:
        """The results of some spectra (a boolean mask, an index array or a slice)."""
        if self.spectrum_index is None:
            out = replace(self, spectrum_index=np.arange(len(self)))
        else:
            out = replace(self)
        for name in _PER_SPECTRUM:
            value = getattr(out, name)
            if value is not None:
                setattr(out, name, np.asarray(value)[rows])
        return out

    @property
    def index(self) -> np.ndarray:
        """Number of each spectrum in its input (``spectrum_index``, or 0..n-1)."""
        if self.spectrum_index is None:
            return np.arange(len(self))
        return np.asarray(self.spectrum_index, dtype=np.int64)

    def with_ids(self, spectra=None, *, spectrum_index=None, files=None, train_ids=None,
                 pulse_ids=None) -> Classification:
        """A copy that names its spectra: index, file, train and pulse id where known.

        Parameters
        ----------
        spectra : Spectra, optional
            The spectra that were classified; their ids (``train_ids``, ``pulse_ids``,
            ``params['spectrum_index']`` and the files in ``metadata``) fill the ids this
            classification does not have yet.
        spectrum_index, files, train_ids, pulse_ids : array-like, optional
            Ids given directly (they replace any others).

        Returns
        -------
        Classification

        Raises
        ------
        ValueError
            If an id array does not have one value per spectrum.
        """
        n = len(self)
        ids = {"spectrum_index": spectrum_index, "files": files, "train_ids": train_ids,
               "pulse_ids": pulse_ids}
        if spectra is not None:
            given = {
                "spectrum_index": (spectra.params or {}).get("spectrum_index"),
                "files": spectrum_files(spectra),
                "train_ids": spectra.train_ids,
                "pulse_ids": spectra.pulse_ids,
            }
            ids = {k: v if v is not None else (given[k] if getattr(self, k) is None else None)
                   for k, v in ids.items()}
        out = replace(self)
        for name, value in ids.items():
            if value is None:
                continue
            value = np.asarray(value)
            if value.shape != (n,):
                raise ValueError(
                    f"The {name} of the classification must have one value per spectrum "
                    f"({n}); got shape {value.shape}."
                )
            setattr(out, name, value)
        return out

    @classmethod
    def concatenate(cls, parts: Sequence[Classification]) -> Classification:
        """Join the results of consecutive parts of one input (all of the same model).

        An optional field is kept only when every part has it.
        """
        if not parts:
            raise ValueError("Classification.concatenate needs at least one part.")
        if len(parts) == 1:
            return parts[0]
        values = {}
        for name in _PER_SPECTRUM:
            arrays = [getattr(p, name) for p in parts]
            values[name] = None if any(a is None for a in arrays) else np.concatenate(arrays)
        if values["spectrum_index"] is None:
            values["spectrum_index"] = np.arange(sum(len(p) for p in parts))
        return cls(classes=parts[0].classes, **values)

    def counts(self) -> dict:
        """Spectra per state, every class included (novel spectra under ``'unknown'``)."""
        summary = aggregate(self, np.zeros(len(self), np.intp), 1)
        out = dict(zip([str(c) for c in self.classes], summary["counts"][0].tolist()))
        if self.novel is not None:
            out[UNKNOWN] = int(summary["unknown"][0])
        return out


def spectrum_files(spectra) -> np.ndarray | None:
    """The file each spectrum of `spectra` came from, or None where that is not known.

    Readers record ``metadata['files']`` (one name per file read) and, when several files
    were stacked, ``metadata['file_sizes']`` (spectra per file).

    Parameters
    ----------
    spectra : Spectra

    Returns
    -------
    numpy.ndarray of str or None
    """
    meta = getattr(spectra, "metadata", None) or {}
    files = meta.get("files")
    n = len(spectra)
    if not isinstance(files, (list, tuple)) or not files:
        return None
    names = [Path(str(f)).name for f in files]
    if len(names) == n:
        return np.asarray(names, dtype=str)
    sizes = meta.get("file_sizes")
    if sizes is not None and len(sizes) == len(names) and sum(sizes) == n:
        return np.repeat(np.asarray(names, dtype=str), np.asarray(sizes, dtype=np.intp))
    if len(names) == 1 and not meta.get("run"):
        return np.full(n, names[0], dtype=object).astype(str)
    return None


def aggregate(classification: Classification, groups: np.ndarray, n_groups: int) -> dict:
    """Per-group (per-train) counts, majority state and confidence, vectorised.

    Novel spectra (``classification.novel``) count as unknown and in no state.

    Parameters
    ----------
    classification : Classification
    groups : numpy.ndarray of int, shape (n,)
        Group (train) number of each spectrum, in ``0..n_groups-1``.
    n_groups : int

    Returns
    -------
    dict
        ``counts`` (n_groups, C) int, ``unknown`` (n_groups,), ``n_classified``
        (n_groups,) (spectra in a state), ``state`` (n_groups,) index into the classes or -1,
        ``confidence`` (n_groups,) mean probability of the majority state over its group's
        classified spectra (NaN without any), ``ambiguous`` (n_groups,).
    """
    classes = [str(c) for c in classification.classes]
    c = len(classes)
    lookup = {name: i for i, name in enumerate(classes)}
    names, inverse = np.unique(np.asarray(classification.labels).astype(str),
                               return_inverse=True)
    codes = np.array([lookup.get(v, -1) for v in names.tolist()], np.intp)[inverse.ravel()]
    groups = np.asarray(groups, dtype=np.intp)
    novel = (np.zeros(len(codes), bool) if classification.novel is None
             else np.asarray(classification.novel, bool))
    known = (codes >= 0) & ~novel
    counts = np.bincount(groups[known] * c + codes[known],
                         minlength=n_groups * c).reshape(n_groups, c)
    n_classified = counts.sum(axis=1)
    state = np.where(n_classified > 0, np.argmax(counts, axis=1), -1)
    proba = np.asarray(classification.proba, dtype=np.float64)
    confidence = np.full(n_groups, math.nan)
    if proba.ndim == 2 and proba.shape[1] == c and known.any():
        chosen = state[groups]
        take = known & (chosen >= 0)
        sums = np.bincount(groups[take], weights=proba[take, chosen[take]],
                           minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            confidence = np.where(n_classified > 0, sums / n_classified, math.nan)
    ambiguous = np.bincount(groups, weights=np.asarray(classification.ambiguous, float),
                            minlength=n_groups).astype(np.int64)
    unknown = np.bincount(groups, weights=novel.astype(float),
                          minlength=n_groups).astype(np.int64)
    return {"counts": counts, "unknown": unknown, "n_classified": n_classified,
            "state": state, "confidence": confidence, "ambiguous": ambiguous}


@dataclass(frozen=True)
class Alert:
    """A confirmed change of the train state.

    Attributes
    ----------
    train_id : int
        First train in the new state.
    confirmed_train_id : int
        Train at which the change was confirmed (``alert_trains`` trains in the new state).
    previous : str
        State before the change.
    state : str
        State after the change.
    time : float
        Wall-clock time (epoch seconds) of the confirmation.
    """

    train_id: int
    confirmed_train_id: int
    previous: str
    state: str
    time: float

    def __str__(self) -> str:
        return (f"train {self.train_id}: {self.previous} -> {self.state} "
                f"(confirmed at train {self.confirmed_train_id})")


@dataclass
class TrainSummary:
    """The classification of one train (bridge) or one file (folder), and how it arrived.

    Attributes
    ----------
    train_id : int or None
        Train id (bridge) or sequence number of the file (folder); None for a message that
        could not be decoded.
    n_spectra : int
        Spectra received in the train.
    n_classified : int
        Spectra that were classified and counted in a state (finite, with beam, not novel).
    counts : dict of str to int
        Classified spectra per state (every class of the model, zeros included).
    fractions : dict of str to float
        ``counts / n_classified`` per state (NaN when nothing was classified).
    state : str or None
        Majority state of the train; None when no spectrum was classified.
    confidence : float
        Mean probability of the majority state over the classified spectra (NaN if none).
    ambiguous : int
        Classified spectra the classifier marks as ambiguous.
    unknown : int
        Spectra unlike every fitted state (novel: in no state's count).
    no_beam : int
        Finite spectra whose monitor is below ``min_monitor`` (excluded from `counts`).
    latency : float
        Seconds from receipt of the train to this result.
    errors : dict of str to int
        Problems per kind (see :data:`specstate.stream.ERROR_KINDS`); a train with any kind
        other than 'nonfinite', 'missing_monitor' and 'monitor_shape' was skipped.
    skipped_before : int
        Train ids missing between the previous train and this one.
    late : bool
        The train arrived out of order or older than ``late_after`` seconds.
    name : str
        File name (folder) or source name (bridge).
    alert : Alert or None
        The state-change alert confirmed by this train, if any.
    model_reloaded : bool
        The model file was reloaded just before this train.
    monitor_mean : float
        Mean monitor value over the train's spectra (NaN without monitor).
    classification : Classification or None
        The per-spectrum results of the train's classified spectra, with their train and
        pulse ids (None when nothing was classified).
    state_means : specstate.means.StateMeans or None
        Sum and number of the train's spectra per state (the run's per-state mean spectra
        add these up; the live page shows the train's mean spectrum); None where not known.
    changes : list of ChangeEvent
        Label-free change events raised by this train (``Watcher(changes=...)``).
    unknown_alert : UnknownAlert or None
        The unknown-spectra alert confirmed by this train, if any.
    """

    train_id: int | None
    n_spectra: int = 0
    n_classified: int = 0
    counts: dict = field(default_factory=dict)
    fractions: dict = field(default_factory=dict)
    state: str | None = None
    confidence: float = math.nan
    ambiguous: int = 0
    unknown: int = 0
    no_beam: int = 0
    latency: float = 0.0
    errors: dict = field(default_factory=dict)
    skipped_before: int = 0
    late: bool = False
    name: str = ""
    alert: Alert | None = None
    model_reloaded: bool = False
    monitor_mean: float = math.nan
    classification: Classification | None = field(default=None, repr=False)
    state_means: object | None = field(default=None, repr=False)
    changes: list = field(default_factory=list, repr=False)
    unknown_alert: object | None = None

    @property
    def ok(self) -> bool:
        """Whether the train was classified (at least one spectrum counted)."""
        return self.state is not None

    def fill(self, classification: Classification) -> None:
        """Set counts, fractions, state, confidence and ambiguity from the train's results."""
        s = aggregate(classification, np.zeros(len(classification), np.intp), 1)
        classes = [str(c) for c in classification.classes]
        for name, n in zip(classes, s["counts"][0].tolist()):
            self.counts[name] = n
        total = int(s["n_classified"][0])
        self.n_classified = total
        self.fractions = {k: (v / total if total else math.nan) for k, v in self.counts.items()}
        self.state = classes[int(s["state"][0])] if total else None
        self.confidence = float(s["confidence"][0])
        self.ambiguous = int(s["ambiguous"][0])
        self.unknown = int(s["unknown"][0])
        self.classification = classification


#: Fields of :class:`TrainSummary` that are the train's own numbers (the columns of a table).
TRAIN_FIELDS = tuple(f.name for f in fields(TrainSummary)
                     if f.name not in ("classification", "alert", "counts", "fractions",
                                       "errors", "model_reloaded", "state_means",
                                       "changes", "unknown_alert"))
