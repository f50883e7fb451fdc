"""Read spectra from a European XFEL run folder through EXtra-data.

A run folder (``.../raw/r0012`` holding ``RAW-R0012-DA01-S00000.h5`` ...) is read with
:func:`extra_data.RunDirectory`; one key of one source holds the spectra:

* one spectrum per train (entries of shape ``(m,)``, one per train) gives one spectrum per
  train, ``pulse_ids`` is None;
* several entries of shape ``(m,)`` per train (the pulse dimension in the index, as written
  by per-pulse output channels) give one spectrum per entry;
* entries of shape ``(n_pulses, m)`` per train give one spectrum per pulse.

In the two per-pulse cases ``train_ids`` repeats each train id and ``pulse_ids`` counts the
spectra of a train from 0. Spectra keep the run's order (train by train, pulse by pulse),
which is also the order in which ``specstate fit --labels 0:100=a,...`` counts them.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from ..exceptions import SpectraFileError, SpectraFormatError
from ..spectra import Spectra

__all__ = ["read_run", "parse_trains", "parse_monitor", "is_run_folder", "train_ids_with_data"]

logger = logging.getLogger(__name__)

#: prefix of a train selection given by train id instead of by index ('id:10000:10100')
TRAIN_ID_PREFIX = "id:"
#: shift that packs (train id, pulse id) into one sortable uint64 key; 2**20 pulses per train
#: is far above the 2,700 pulses of the EuXFEL burst mode, and train ids (~2**31) still fit.
_PULSE_BITS = 20
#: an EuXFEL run folder holds files named like RAW-R0012-DA01-S00000.h5 or CORR-R0012-...
_RUN_FILE = re.compile(r"^(RAW|CORR)-R\d{4}-[A-Za-z0-9]+-S\d{5}\.h5$")
#: how many names an error message lists before it says "..."
_MAX_LISTED = 20


def is_run_folder(path) -> bool:
    """Whether `path` is a folder holding EuXFEL run files (``RAW-R0012-DA01-S00000.h5``).

    Parameters
    ----------
    path : str or path-like
        Any path.

    Returns
    -------
    bool
        True for a folder with at least one file named like an EuXFEL run file.
    """
    p = Path(path)
    return p.is_dir() and any(_RUN_FILE.match(f.name) for f in p.iterdir())


def _listing(names) -> str:
    names = sorted(str(n) for n in names)
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    return shown + (", ..." if len(names) > _MAX_LISTED else "")


def parse_trains(trains):
    """Turn a train selection into an EXtra-data selector (``by_index`` / ``by_id``).

    Parameters
    ----------
    trains : str, slice, int, sequence of int, extra_data.by_id/by_index, or None
        * ``'0:100'``, ``':50'``, ``'100:'``, ``'0:100:2'``: by *index* within the run (the
          first train is 0), Python slice rules;
        * ``'id:10000:10100'``: by *train id* (stop excluded), ``'id:10000,10005,10010'``:
          a list of train ids;
        * a :class:`slice` or an int: by index; a list / array of ints: train ids;
        * an ``extra_data.by_id[...]`` / ``by_index[...]`` object is used as it is.

    Returns
    -------
    object or None
        What :meth:`extra_data.DataCollection.select_trains` takes, or None for all trains.

    Raises
    ------
    SpectraFormatError
        If a string is not of one of the forms above.

    Examples
    --------
    >>> parse_trains("0:100")  # doctest: +SKIP
    by_index[slice(0, 100, None)]
    """
    from extra_data import by_id, by_index

    if trains is None:
        return None
    if isinstance(trains, (by_id, by_index)):
        return trains
    if isinstance(trains, slice):
        return by_index[trains]
    if isinstance(trains, (int, np.integer)):
        return by_index[int(trains) : int(trains) + 1 or None]
    if not isinstance(trains, str):
        ids = np.asarray(trains)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise SpectraFormatError(
                f"A train selection must be a slice string like '0:100' or a list of train "
                f"ids; got {trains!r}."
            )
        return by_id[[int(t) for t in ids]]
    text = trains.strip()
    by = by_index
    if text.lower().startswith(TRAIN_ID_PREFIX):
        by, text = by_id, text[len(TRAIN_ID_PREFIX) :]
    try:
        if ":" in text:
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3:
                raise ValueError
            return by[slice(*parts)]
        values = [int(p) for p in text.split(",")]
    except ValueError:
        raise SpectraFormatError(
            f"Could not read the train selection {trains!r}: expected 'START:STOP[:STEP]' "
            f"(by index) or 'id:START:STOP' / 'id:ID,ID,...' (by train id)."
        ) from None
    if by is by_index:
        if len(values) == 1:
            return by_index[values[0] : values[0] + 1 or None]
        return by_index[values]
    return by_id[values]


def parse_monitor(monitor: str) -> tuple[str, str]:
    """Split ``'SOURCE:KEY'`` into source and key at the *last* colon.

    Source names may hold a colon themselves (``'SA1_XTD2_XGM/XGM/DOOCS:output'``); keys
    never do, so ``'SA1_XTD2_XGM/XGM/DOOCS:output:data.intensityTD'`` is the key
    ``data.intensityTD`` of the source ``SA1_XTD2_XGM/XGM/DOOCS:output``.

    Parameters
    ----------
    monitor : str
        ``'SOURCE:KEY'``.

    Returns
    -------
    tuple of str
        ``(source, key)``.

    Raises
    ------
    SpectraFormatError
        If there is no colon.
    """
    source, sep, key = str(monitor).rpartition(":")
    if not sep or not source or not key:
        raise SpectraFormatError(
            f"The monitor must be given as 'SOURCE:KEY' (e.g. "
            f"'SA1_XTD2_XGM/XGM/DOOCS:output:data.intensityTD'); got {monitor!r}."
        )
    return source, key


def _key_data(run, source: str, key: str, what: str, where: str):
    """``run[source, key]`` with errors that list what exists."""
    from extra_data.exceptions import SourceNameError

    try:
        sd = run[source]
    except SourceNameError:
        raise SpectraFormatError(
            f"The run {where} has no source {source!r} (for the {what}); its sources are "
            f"{_listing(run.all_sources)}."
        ) from None
    all_keys = sd.keys()
    for candidate in (key, key.replace("/", ".")):  # users often spell keys as HDF5 paths
        if candidate in all_keys or f"{candidate}.value" in all_keys:
            return sd[candidate]
    # CONTROL keys are addressed without their '.value' / '.timestamp' suffix.
    keys = {k.removesuffix(".value") for k in all_keys if not k.endswith(".timestamp")}
    raise SpectraFormatError(
        f"The source {source!r} of the run {where} has no key {key!r} (for the {what}); "
        f"its keys are {_listing(keys)}."
    )


def _pulse_ranks(train_ids: np.ndarray) -> np.ndarray:
    """Position of each entry within its train (0, 1, ...); `train_ids` in run order."""
    n = train_ids.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], train_ids[1:] != train_ids[:-1])))
    first_of = np.repeat(starts, np.diff(np.concatenate((starts, [n]))))
    return np.arange(n, dtype=np.int64) - first_of


def _flatten_pulses(data: np.ndarray, tids: np.ndarray, where: str, entry_shape):
    """Spectra (n, m), train ids (n,), pulse ids (n,) or None from per-entry data."""
    if data.ndim == 2:
        per_train = tids.size == np.unique(tids).size
        pulse_ids = None if per_train else _pulse_ranks(tids)
        return data, tids, pulse_ids
    if data.ndim == 3:
        n_entries, n_pulses, m = data.shape
        tids = np.repeat(tids, n_pulses)
        spectra = data.reshape(n_entries * n_pulses, m)
        return spectra, tids, _pulse_ranks(tids)
    raise SpectraFormatError(
        f"{where} holds entries of shape {tuple(entry_shape)}; expected a 1-D spectrum "
        "(m,) per train or pulse, or (n_pulses, m) per train."
    )


def _match_monitor(kd, tids, pulse_ids, where: str) -> np.ndarray:
    """One monitor value per spectrum from the monitor's key data, matched by train/pulse."""
    values = kd.ndarray()
    mtids = kd.train_id_coordinates().astype(np.uint64)
    if not np.issubdtype(values.dtype, np.number):
        raise SpectraFormatError(f"The monitor {where} is not numeric ({values.dtype}).")
    if values.ndim == 1 and mtids.size != np.unique(mtids).size:
        # One monitor entry per pulse (pulse dimension in the index): match (train, rank).
        mkey = (mtids << np.uint64(_PULSE_BITS)) | _pulse_ranks(mtids).astype(np.uint64)
        ranks = np.zeros(tids.size, np.uint64) if pulse_ids is None else pulse_ids
        skey = (tids << np.uint64(_PULSE_BITS)) | ranks.astype(np.uint64)
        pos = np.searchsorted(mkey, skey)
        ok = (pos < mkey.size) & (mkey[np.minimum(pos, mkey.size - 1)] == skey)
        if not ok.all():
            raise SpectraFormatError(
                f"The monitor {where} has no value for {np.count_nonzero(~ok)} of the "
                f"{tids.size} spectra (first: train {tids[~ok][0]})."
            )
        return values[pos].astype(np.float64)
    pos = np.searchsorted(mtids, tids)
    ok = (pos < mtids.size) & (mtids[np.minimum(pos, mtids.size - 1)] == tids)
    if not ok.all():
        raise SpectraFormatError(
            f"The monitor {where} has no value for train {tids[~ok][0]}."
        )
    if values.ndim == 1:  # one value per train, shared by its pulses
        return values[pos].astype(np.float64)
    if values.ndim == 2:  # a vector per train: one value per pulse (e.g. XGM intensityTD)
        if pulse_ids is None:
            # One spectrum per train: it belongs to the train's first pulse (one pulse per
            # train); a train-integrating spectrometer needs a per-train monitor key instead.
            logger.info("One spectrum per train: using pulse 0 of the monitor %s.", where)
            pulse_ids = np.zeros(tids.size, dtype=np.int64)
        if pulse_ids.max(initial=0) >= values.shape[1]:
            raise SpectraFormatError(
                f"The monitor {where} holds {values.shape[1]} values per train but the "
                f"spectra have up to {int(pulse_ids.max()) + 1} pulses per train."
            )
        return values[pos, pulse_ids].astype(np.float64)
    raise SpectraFormatError(
        f"The monitor {where} holds entries of shape {values.shape[1:]}; expected one value "
        "per train or pulse."
    )


def _open(run_path, source, key, monitor, trains):
    """Open the run, select the trains; return (path, key data, monitor key data or None)."""
    from extra_data import RunDirectory
    from extra_data.exceptions import FileStructureError

    path = Path(run_path)
    where = f"'{path}'"
    if not path.is_dir():
        raise SpectraFileError(f"The run folder {where} does not exist.")
    if not source or not key:
        raise SpectraFormatError(
            f"Reading the EuXFEL run {where} needs --source and --key (the spectrometer's "
            "source name and the key of its spectrum)."
        )
    try:
        run = RunDirectory(str(path))
    except (FileNotFoundError, FileStructureError, OSError, ValueError) as exc:
        raise SpectraFileError(f"Could not open {where} as an EuXFEL run: {exc}") from None
    selector = parse_trains(trains)
    if selector is not None:
        try:
            run = run.select_trains(selector)
        except (KeyError, IndexError, ValueError) as exc:
            raise SpectraFormatError(
                f"The train selection {trains!r} does not fit the run {where}: {exc}"
            ) from None
    kd = _key_data(run, source, key, "spectra", where)
    mkd = None
    if monitor is not None:
        msource, mkey = parse_monitor(monitor)
        mkd = _key_data(run, msource, mkey, "monitor", where)
        n_before = len(kd.drop_empty_trains().train_ids)
        aligned = run.select([(source, kd.key), (msource, mkd.key)], require_all=True)
        kd, mkd = aligned[source, kd.key], aligned[msource, mkd.key]
        dropped = n_before - len(kd.train_ids)
        if dropped:
            logger.warning(
                "%d of %d trains of %s have no monitor value and are left out.",
                dropped, n_before, where,
            )
    return path, kd, mkd


def train_ids_with_data(run_path, source: str, key: str, monitor: str | None = None,
                        trains=None) -> np.ndarray:
    """Train ids of the run where `source`/`key` (and the monitor, if given) hold data.

    Parameters
    ----------
    run_path, source, key, monitor, trains
        As for :func:`read_run`.

    Returns
    -------
    numpy.ndarray of uint64
        The train ids, in run order; used to split a big run into chunks of trains.
    """
    _, kd, _ = _open(run_path, source, key, monitor, trains)
    return np.asarray(kd.drop_empty_trains().train_ids, dtype=np.uint64)


def read_run(
    run_path,
    source: str,
    key: str,
    monitor: str | None = None,
    trains=None,
) -> Spectra:
    """Read 1-D spectra from a European XFEL run folder.

    Parameters
    ----------
    run_path : str or path-like
        The run folder (e.g. ``/gpfs/exfel/exp/FXE/202301/p002000/raw/r0042``).
    source : str
        Source name of the spectrometer, e.g. ``'FXE_DET_SPEC/DET/A:output'``.
    key : str
        Key of the spectrum within `source`, e.g. ``'data.spectrum'`` (``'data/spectrum'``
        is accepted too).
    monitor : str, optional
        ``'SOURCE:KEY'`` of a per-spectrum monitor (e.g. an XGM's pulse energy,
        ``'SA1_XTD2_XGM/XGM/DOOCS:output:data.intensityTD'``). A scalar per train is shared
        by the pulses of the train; a vector per train (``intensityTD``) gives pulse ``i``
        value ``i``; per-pulse entries are matched by train and pulse. Only trains where
        both the spectra and the monitor have data are kept (a warning is logged when this
        drops trains).
    trains : str, slice, int or sequence of int, optional
        Which trains: ``'0:100'`` by index in the run, ``'id:10000:10100'`` or a list of
        ints by train id (see :func:`parse_trains`). Default: all.

    Returns
    -------
    Spectra
        ``(n, m)`` intensities (float dtype kept, integers become float32) on an ``index``
        axis, with ``train_ids`` (uint64), ``pulse_ids`` (per-pulse data) and ``monitor``;
        ``metadata`` holds ``run``, ``source``, ``key``, ``files`` and ``monitor``.

    Raises
    ------
    SpectraFileError
        If the folder is missing or not a run.
    SpectraFormatError
        If the source or key is missing (the message lists what exists), the data is not one
        1-D spectrum per train or pulse, or the train selection is malformed.

    Examples
    --------
    >>> s = read_run("raw/r0042", "FXE_DET_SPEC/DET/A:output", "data.spectrum",
    ...              monitor="SA1_XTD2_XGM/XGM/DOOCS:output:data.intensityTD",
    ...              trains="0:100")  # doctest: +SKIP
    """
    path, kd, mkd = _open(run_path, source, key, monitor, trains)
    where = f"'{path}'"
    entry_shape = kd.entry_shape
    if len(entry_shape) not in (1, 2):
        raise SpectraFormatError(
            f"The key {kd.key!r} of {source!r} in {where} holds entries of shape "
            f"{tuple(entry_shape)}; expected a 1-D spectrum (m,) per train or pulse, or "
            "(n_pulses, m) per train."
        )
    data = kd.ndarray()
    tids = kd.train_id_coordinates().astype(np.uint64)
    if np.issubdtype(data.dtype, np.integer) or data.dtype == bool:
        # detector counts: float32 is exact up to 2**24 counts and halves the memory
        data = data.astype(np.float32)
    spectra, tids, pulse_ids = _flatten_pulses(
        data, tids, f"The key {kd.key!r} of {source!r} in {where}", entry_shape
    )
    mvalues = None
    if mkd is not None:
        mvalues = _match_monitor(mkd, tids, pulse_ids, f"{monitor!r} in {where}")
    if spectra.shape[0] == 0:
        raise SpectraFormatError(
            f"The key {kd.key!r} of {source!r} in {where} holds no data in the selected trains."
        )
    files = sorted({Path(p).name for p in kd.source_file_paths})
    metadata = {
        "run": str(path),
        "source": source,
        "key": kd.key,
        "files": files,
        "format": "euxfel",
    }
    if monitor is not None:
        metadata["monitor"] = str(monitor)
    logger.info(
        "Read %d spectra of %d points from %d trains of %s.",
        spectra.shape[0], spectra.shape[1], np.unique(tids).size, where,
    )
    return Spectra(
        spectra,
        axis_name="index",
        train_ids=tids,
        pulse_ids=pulse_ids,
        monitor=mvalues,
        metadata=metadata,
    )
