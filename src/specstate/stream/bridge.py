"""A live source reading a Karabo bridge endpoint with the facility's ``karabo_bridge.Client``."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator

import numpy as np

from ..exceptions import StreamError
from .packets import (
    _ENDPOINT,
    BACKOFF_MAX_S,
    BACKOFF_MIN_S,
    DEFAULT_PREFETCH,
    DEFAULT_RECONNECT_AFTER_S,
    DEFAULT_RECV_TIMEOUT_S,
    Idle,
    Packet,
    _Failure,
    _split_monitor,
)

__all__ = ["BridgeSource"]

log = logging.getLogger(__name__)

_PUT_POLL_S = 0.1  # how often a blocked receiver thread checks whether to stop
_JOIN_MARGIN_S = 1.0


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
        self.dropped = 0  # trains received but dropped because the caller was behind
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
                                self.dropped += 1
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
