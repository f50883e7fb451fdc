"""Live sources of spectra: a Karabo bridge endpoint, or a folder where files appear.

A source is an iterable of :class:`Packet` (one train or one file, possibly carrying the
kind of problem that makes it unusable) and :class:`Idle` (nothing arrived for a while: the
loop uses these ticks to check its stopping conditions and the model file). Sources never
raise on bad data; they only raise :class:`~specstate.exceptions.StreamError` when they
cannot be used at all (bad endpoint, missing folder). The sources themselves are
:class:`~specstate.stream.bridge.BridgeSource` and :class:`~specstate.stream.folder.FolderSource`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import StreamError

__all__ = ["Packet", "Idle", "open_source", "natural_key"]

#: Seconds the bridge client waits for one train before it reports a timeout.
DEFAULT_RECV_TIMEOUT_S = 1.0
#: A REQ client silent this long (seconds) is recreated: the server may have restarted.
DEFAULT_RECONNECT_AFTER_S = 5.0
#: Reconnection backoff after a lost connection: starts here, doubles, stops growing at max.
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
#: Folder polling interval; a file is read once its size and mtime held for one interval.
DEFAULT_POLL_S = 0.5
#: A file that is still being written holds back later files (natural order) at most this long.
DEFAULT_ORDER_WAIT_S = 30.0
#: File patterns a folder source looks for.
FOLDER_PATTERNS = ("*.xy", "*.h5", "*.hdf5", "*.nxs")
#: Trains a bridge source receives ahead while the current one is classified: absorbs the
#: jitter of a few slow trains; bounded because each train can be tens of MB.
DEFAULT_PREFETCH = 3
_HDF5_SUFFIXES = {".h5", ".hdf5", ".nxs", ".nx5"}
_ENDPOINT = re.compile(r"^(tcp|ipc|inproc)://")


@dataclass
class Packet:
    """One train (bridge) or file (folder) as it arrived.

    Attributes
    ----------
    train_id : int or None
        Train id, or file sequence number; None when the message could not be decoded.
    spectra : numpy.ndarray or None
        (n, m) spectra; None when `error` is set.
    monitor : numpy.ndarray or None
        (n,) per-spectrum monitor values, if a monitor was asked for and found.
    axis : numpy.ndarray or None
        (m,) axis of the spectra when the source has one (files).
    received : float
        ``time.perf_counter()`` at receipt.
    timestamp : float or None
        Epoch seconds the source stamped on the train, if any.
    name : str
        Source name or file name.
    error : str or None
        Kind of problem that makes the packet unusable (see ``ERROR_KINDS``).
    message : str
        One sentence about the problem.
    issues : dict of str to int
        Non-fatal problems (e.g. 'missing_monitor').
    """

    train_id: int | None
    spectra: np.ndarray | None = None
    monitor: np.ndarray | None = None
    axis: np.ndarray | None = None
    received: float = field(default_factory=time.perf_counter)
    timestamp: float | None = None
    name: str = ""
    error: str | None = None
    message: str = ""
    issues: dict = field(default_factory=dict)


@dataclass
class Idle:
    """Nothing usable arrived for a while.

    Attributes
    ----------
    reason : {'timeout', 'reconnect', 'poll'}
        Why the source came back empty-handed.
    message : str
        What happened, for the log.
    """

    reason: str
    message: str = ""


@dataclass
class _Failure:
    exc: BaseException


def natural_key(path) -> tuple:
    """Sort key that orders ``scan_2`` before ``scan_10``.

    Examples
    --------
    >>> sorted(["s10.xy", "s2.xy", "s1.xy"], key=natural_key)
    ['s1.xy', 's2.xy', 's10.xy']
    """
    parts = re.split(r"(\d+)", str(path))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _split_monitor(monitor: str | None) -> tuple[str, str] | None:
    if monitor is None:
        return None
    # Karabo source names hold ':' themselves (e.g. 'SA1_XTD2_XGM/XGM/DOOCS:output'),
    # so the key is what follows the last ':'.
    src, sep, key = monitor.rpartition(":")
    if not sep or not src or not key:
        raise StreamError(
            f"The monitor must be given as 'SOURCE:KEY' (e.g. "
            f"'SA1_XTD2_XGM/XGM/DOOCS:output:data.intensityTD'); got {monitor!r}."
        )
    return src, key



def open_source(source, *, source_name: str | None = None, key: str | None = None,
                monitor: str | None = None, sub: bool = False,
                timeout: float = DEFAULT_RECV_TIMEOUT_S, poll_interval: float = DEFAULT_POLL_S,
                read_kwargs: dict | None = None,
                reconnect_after: float = DEFAULT_RECONNECT_AFTER_S):
    """A :class:`BridgeSource` for ``tcp://...``, a :class:`FolderSource` for a folder.

    Anything that is already iterable (a source object) is returned unchanged.

    Parameters
    ----------
    source : str, path-like or source object
        Endpoint, folder, or source.
    source_name, key, monitor, sub, timeout, reconnect_after
        Bridge options (see :class:`BridgeSource`).
    poll_interval, read_kwargs
        Folder options (see :class:`FolderSource`).

    Returns
    -------
    BridgeSource or FolderSource

    Raises
    ------
    StreamError
        If `source` is neither an endpoint nor an existing folder.
    """
    from .bridge import BridgeSource
    from .folder import FolderSource

    if isinstance(source, (BridgeSource, FolderSource)) or (
        hasattr(source, "__iter__") and not isinstance(source, (str, bytes, Path))
    ):
        return source
    if _ENDPOINT.match(str(source)):
        return BridgeSource(str(source), source_name=source_name, key=key, monitor=monitor,
                            sub=sub, timeout=timeout, reconnect_after=reconnect_after)
    if monitor is not None:  # for files, the monitor is a dataset path read by io.read
        read_kwargs = {**(read_kwargs or {}), "monitor": monitor}
    return FolderSource(source, poll_interval=poll_interval, read_kwargs=read_kwargs)
