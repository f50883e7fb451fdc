"""Live sources of spectra: a Karabo bridge endpoint, or a folder where files appear.

A source is an iterable of :class:`Packet` (one train or one file, possibly carrying the
kind of problem that makes it unusable) and :class:`Idle` (nothing arrived for a while: the
loop uses these ticks to check its stopping conditions and the model file). Sources never
raise on bad data; they only raise :class:`~specstate.exceptions.StreamError` when they
cannot be used at all (bad endpoint, missing folder).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import StreamError

__all__ = ["Packet", "Idle", "BridgeSource", "FolderSource", "open_source", "natural_key"]

log = logging.getLogger(__name__)

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
_PUT_POLL_S = 0.1  # how often a blocked receiver thread checks whether to stop
_JOIN_MARGIN_S = 1.0
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


class BridgeSource:
    """Trains from a Karabo bridge server, read with ``karabo_bridge.Client``.

    Parameters
    ----------
    endpoint : str
        ``tcp://host:port`` of the bridge.
    source_name, key : str, optional
        Source and key of the spectrum in each train; found automatically when the train has a
        single source / a single array key.
    monitor : str, optional
        ``'SOURCE:KEY'`` of a per-pulse monitor (e.g. the XGM pulse energy). A monitor array
        longer than the number of pulses is cut to the first values (the XGM pads its arrays).
    sub : bool, default False
        Use a SUB socket (the server publishes; slow readers lose trains) instead of REQ.
    timeout : float, default 1.0
        Seconds the client waits for a train (``Client(timeout=...)``).
    backoff : (float, float), default (0.1, 5.0)
        First and largest wait between reconnection attempts.
    reconnect_after : float, default 5
        REQ: seconds without a train after which the client is recreated (a restarted
        server has forgotten the pending request).
    prefetch : int, default 3
        Trains received ahead by a background thread while the caller classifies
        (0: receive in the caller's thread).

    Notes
    -----
    A timeout yields :class:`Idle`. With a REQ socket, after `reconnect_after` seconds of
    silence the client is recreated (then again with exponential backoff), so a restarted
    server is picked up again; ZeroMQ reconnects SUB sockets by itself. A zmq error also
    recreates the client with backoff. Undecodable messages become packets with
    ``error='malformed'``.
    """

    def __init__(self, endpoint: str, *, source_name: str | None = None,
                 key: str | None = None, monitor: str | None = None, sub: bool = False,
                 timeout: float = DEFAULT_RECV_TIMEOUT_S,
                 backoff: tuple[float, float] = (BACKOFF_MIN_S, BACKOFF_MAX_S),
                 prefetch: int = DEFAULT_PREFETCH,
                 reconnect_after: float = DEFAULT_RECONNECT_AFTER_S):
        if not _ENDPOINT.match(str(endpoint)):
            raise StreamError(f"A bridge endpoint looks like 'tcp://host:port'; got {endpoint!r}.")
        self.endpoint = str(endpoint)
        self.source_name = source_name
        self.key = key
        self.monitor = _split_monitor(monitor)
        self.sock = "SUB" if sub else "REQ"
        self.timeout = float(timeout)
        self.backoff = backoff
        self.prefetch = int(prefetch)
        self.reconnect_after = float(reconnect_after)
        self.reconnects = 0
        self._warned: set = set()

    # -- connection --------------------------------------------------------------------------
    def _connect(self):
        from karabo_bridge import Client

        try:
            return Client(self.endpoint, sock=self.sock, timeout=self.timeout)
        except Exception as exc:  # zmq.ZMQError for a malformed endpoint
            raise StreamError(f"Cannot connect to the bridge at {self.endpoint!r}: {exc}.") \
                from exc

    @staticmethod
    def _close(client) -> None:
        if client is not None:
            client.__exit__(None, None, None)  # destroys the client's own zmq context

    def __iter__(self) -> Iterator[Packet | Idle]:
        if self.prefetch <= 0:
            yield from self._receive()
            return
        # A thread owns the client (zmq sockets stay in one thread) and drains the socket
        # while the caller classifies, so one slow train does not make the server drop the
        # next ones; the bounded queue keeps memory flat. When it is full, a SUB source
        # drops its oldest train (fresh results beat stale ones; the gap in train ids
        # counts it as skipped) and a REQ source waits (the server waits with it).
        items: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        pump = threading.Thread(target=self._pump, args=(items, stop), daemon=True,
                                name=f"specstate-bridge-{self.endpoint}")
        pump.start()
        try:
            while True:
                item = items.get()
                if isinstance(item, _Failure):
                    raise item.exc
                yield item
        finally:
            stop.set()
            pump.join(timeout=self.timeout + _JOIN_MARGIN_S)

    def _pump(self, items: queue.Queue, stop: threading.Event) -> None:
        received = self._receive()
        try:
            for item in received:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=_PUT_POLL_S)
                        break
                    except queue.Full:
                        if self.sock == "SUB":  # the caller is behind: the oldest train goes
                            with contextlib.suppress(queue.Empty):
                                items.get_nowait()  # (its id gap counts it as skipped)
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed over to the consuming thread
            items.put(_Failure(exc))
        finally:
            received.close()

    def _receive(self) -> Iterator[Packet | Idle]:
        import zmq

        client = self._connect()
        wait = self.backoff[0]
        failures = 0
        silent = 0.0
        try:
            while True:
                try:
                    data, meta = client.next()
                except TimeoutError:
                    failures += 1
                    silent += self.timeout
                    if failures == 1:
                        log.warning("no train from %s for %.1f s", self.endpoint, self.timeout)
                    yield Idle("timeout", f"no train from {self.endpoint} in {self.timeout} s")
                    # A REQ socket keeps waiting for the answer to its request (a new socket
                    # would leave that answer, a train, to a dead peer); after a long silence
                    # the server may have restarted and forgotten the request: start afresh.
                    if self.sock == "REQ" and silent >= self.reconnect_after:
                        self._close(client)
                        client = None
                        if self.reconnects and failures > 1:
                            time.sleep(wait)
                            wait = min(2 * wait, self.backoff[1])
                        client = self._connect()
                        self.reconnects += 1
                        silent = 0.0
                        log.warning("reconnected to %s", self.endpoint)
                        yield Idle("reconnect", f"reconnected to {self.endpoint}")
                    continue
                except zmq.ZMQError as exc:
                    failures += 1
                    log.warning("connection to %s failed (%s); retrying in %.1f s",
                                self.endpoint, exc, wait)
                    self._close(client)
                    client = None
                    time.sleep(wait)
                    wait = min(2 * wait, self.backoff[1])
                    client = self._connect()
                    self.reconnects += 1
                    yield Idle("reconnect", f"reconnected to {self.endpoint} after {exc}")
                    continue
                except Exception as exc:  # noqa: BLE001 - any decoding failure is 'malformed'
                    yield Packet(None, error="malformed",
                                 message=f"undecodable message from {self.endpoint}: {exc!r}")
                    continue
                received = time.perf_counter()
                if failures:
                    log.warning("trains from %s arrive again", self.endpoint)
                failures, wait, silent = 0, self.backoff[0], 0.0
                yield self.packet(data, meta, received)
        finally:
            self._close(client)

    # -- decoding a train ----------------------------------------------------------------------
    def packet(self, data, meta, received: float | None = None) -> Packet:
        """Turn one decoded train ``(data, meta)`` into a :class:`Packet`."""
        received = time.perf_counter() if received is None else received
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            return Packet(None, received=received, error="malformed",
                          message=f"a train is a dict of sources; got {type(data).__name__}")
        meta = meta if isinstance(meta, dict) else {}
        source = self.source_name or self._only_source(data)
        train_id, timestamp = self._train_id(data, meta, source)
        p = Packet(train_id, received=received, timestamp=timestamp, name=source or "")
        if source is None or source not in data:
            p.error = "missing_source"
            wanted = (f"no source {self.source_name!r}" if self.source_name else
                      "several sources: name the spectrum's with source_name / --source")
            p.message = f"train {train_id} has {wanted}; sources: {sorted(data)}"
            return p
        props = data[source]
        key = self.key or self._only_key(props)
        if key is None or key not in props:
            p.error = "missing_key"
            p.message = (f"source {source!r} of train {train_id} has no key {self.key!r}; "
                         f"keys: {sorted(props)}")
            return p
        try:
            arr = np.asarray(props[key])
        except Exception:  # noqa: BLE001
            arr = np.empty(0)
        if arr.ndim == 1:
            arr = arr[np.newaxis]
        if arr.ndim != 2 or arr.size == 0 or arr.dtype.kind not in "fiu":
            p.error = "bad_shape"
            p.message = (f"{source}:{key} of train {train_id} should be a (m,) or "
                         f"(n_pulses, m) numeric array; got shape {arr.shape}, "
                         f"dtype {arr.dtype}")
            return p
        p.spectra = arr
        if self.monitor is not None:
            p.monitor = self._monitor(data, p)
        return p

    def _only_source(self, data) -> str | None:
        candidates = [s for s in data if self.monitor is None or s != self.monitor[0]]
        if len(candidates) == 1:
            return candidates[0]
        if "no_source" not in self._warned:
            self._warned.add("no_source")
            log.warning("the train has sources %s: name the spectrum's with source_name / "
                        "--source", sorted(data))
        return None

    @staticmethod
    def _only_key(props) -> str | None:
        arrays = [k for k, v in props.items() if isinstance(v, np.ndarray) and v.ndim >= 1]
        return arrays[0] if len(arrays) == 1 else None

    @staticmethod
    def _train_id(data, meta, source) -> tuple[int | None, float | None]:
        candidates = [meta.get(source)] if source in meta else []
        candidates += list(meta.values())
        if source in data:  # protocol 1.0 keeps the metadata inside the data
            candidates.append(data[source].get("metadata"))
        for m in candidates:
            if isinstance(m, dict) and "timestamp.tid" in m:
                try:
                    tid = int(m["timestamp.tid"])
                except (TypeError, ValueError):
                    continue
                ts = m.get("timestamp")
                ts = float(ts) if isinstance(ts, (int, float)) else None
                return tid, ts
        return None, None

    def _monitor(self, data, p: Packet) -> np.ndarray | None:
        msrc, mkey = self.monitor
        values = data.get(msrc, {}).get(mkey) if isinstance(data.get(msrc), dict) else None
        if values is None:
            p.issues["missing_monitor"] = 1
            return None
        values = np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
        n = p.spectra.shape[0]
        if values.size < n:
            p.issues["monitor_shape"] = 1
            return None
        return values[:n]


class FolderSource:
    """Files that appear in a folder, each read once, in natural order, when complete.

    The folder is polled (which works on network file systems). A file is complete when its
    size and modification time held across two polls, and, for HDF5, when it also opens
    cleanly. A file still being written holds back the files after it for at most
    `order_wait` seconds. Files are read with :func:`specstate.io.read`.

    Parameters
    ----------
    folder : path-like
        The folder to watch (files present at the start are read too).
    patterns : sequence of str
        Glob patterns of the files to read.
    poll_interval : float, default 0.5
        Seconds between polls.
    order_wait : float, default 30
        How long an incomplete file may hold back later files.
    read_kwargs : dict, optional
        Passed to :func:`specstate.io.read`.
    """

    def __init__(self, folder, *, patterns: Sequence[str] = FOLDER_PATTERNS,
                 poll_interval: float = DEFAULT_POLL_S,
                 order_wait: float = DEFAULT_ORDER_WAIT_S, read_kwargs: dict | None = None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise StreamError(f"The folder to watch must exist; {str(self.folder)!r} is not a "
                              "folder (a bridge endpoint looks like 'tcp://host:port').")
        self.patterns = tuple(patterns)
        self.poll_interval = float(poll_interval)
        self.order_wait = float(order_wait)
        self.read_kwargs = dict(read_kwargs or {})
        self.reconnects = 0

    def _candidates(self, done: set) -> list[Path]:
        found = {p for pat in self.patterns for p in self.folder.glob(pat)} - done
        return sorted((p for p in found if p.is_file()), key=natural_key)

    @staticmethod
    def _opens(path: Path) -> bool:
        import h5py

        try:
            with h5py.File(path, "r"):
                return True
        except Exception:  # noqa: BLE001 - any failure means "not (yet) a whole HDF5 file"
            return False

    def __iter__(self) -> Iterator[Packet | Idle]:
        done: set = set()
        pending: dict = {}  # path -> (signature, first seen)
        seq = 0
        while True:
            produced = False
            now = time.monotonic()
            for path in self._candidates(done):
                try:
                    st = path.stat()
                except FileNotFoundError:
                    pending.pop(path, None)
                    continue
                sig = (st.st_size, st.st_mtime_ns)
                prev = pending.get(path)
                ready = prev is not None and prev[0] == sig and st.st_size > 0
                if ready and path.suffix.lower() in _HDF5_SUFFIXES:
                    ready = self._opens(path)
                    if not ready and now - prev[1] > self.order_wait:
                        ready = True  # stable for long yet unreadable: let read() report it
                if not ready:
                    pending[path] = (sig, prev[1] if prev else now)
                    if now - pending[path][1] < self.order_wait:
                        break  # keep natural order: later files wait for this one
                    continue
                pending.pop(path, None)
                done.add(path)
                yield self._read(path, seq)
                seq += 1
                produced = True
            if not produced:
                yield Idle("poll")
                time.sleep(self.poll_interval)

    def _read(self, path: Path, seq: int) -> Packet:
        from .. import io

        received = time.perf_counter()
        p = Packet(seq, received=received, timestamp=time.time(), name=path.name)
        try:
            s = io.read(path, **self.read_kwargs)
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, never fatal
            p.error = "parse"
            p.message = f"cannot read {path}: {exc}"
            return p
        intensity = np.asarray(s.intensity)
        if intensity.ndim == 1:
            intensity = intensity[np.newaxis]
        p.spectra = intensity
        p.axis = np.asarray(s.axis)
        if getattr(s, "monitor", None) is not None:
            p.monitor = np.asarray(s.monitor, dtype=np.float64)
        return p


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
