"""What a live source yields: :class:`Packet` (one train or file) and :class:`Idle`.

The sources (:mod:`~specstate.stream.bridge`, :mod:`~specstate.stream.folder`) and the loop
import these from here, and :mod:`~specstate.stream.sources` imports the sources: the imports
run one way.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import StreamError

__all__ = ["Packet", "Idle"]

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
#: Trains a bridge source receives ahead while the current one is classified: absorbs the
#: jitter of a few slow trains; bounded because each train can be tens of MB.
DEFAULT_PREFETCH = 3
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
