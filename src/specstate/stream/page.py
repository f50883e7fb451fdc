"""The live page of a watch session: a read-only dashboard that updates as trains arrive.

``specstate watch ... --serve [HOST:]PORT`` serves it (default host 127.0.0.1; give an
explicit host to open it to the control room); ``--plot FILE.html`` writes the same page,
frozen, every few seconds (a snapshot that needs no server). The page shows the current
state and confidence in big letters, the state timeline, the latest train's mean spectrum
against the model's references and regions, alerts (state changes, unknown spectra, label-free
changes, a silent source, a reloaded model), throughput and lag.

How it stays out of the classification loop's way: :meth:`LivePage.publish` only appends the
train's :class:`~specstate.results.TrainSummary` (a reference, not a copy) to a deque and
returns; a publisher thread turns what arrived into the page's JSON payload at most
:data:`MAX_UPDATES_PER_S` times a second, and the server (Starlette on uvicorn, in a thread
of its own) pushes each new payload to every open page as a server-sent event. A browser
that goes away only ends its own event stream. Every route answers GET (and HEAD) only; any
other method gets 405: nothing on the page can change the model or a file.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import math
import socket
import threading
import time
from collections import deque
from pathlib import Path

from ..exceptions import StreamError

__all__ = ["LivePage", "parse_serve"]

log = logging.getLogger(__name__)

#: Pushes per second at most (the issue's limit: a page that follows a 10 Hz stream without
#: redrawing ten times a second).
MAX_UPDATES_PER_S = 2.0
#: Trains on the page's timeline (the most recent): about 3 minutes at 10 trains/s.
DEFAULT_HISTORY = 2000
#: Seconds without a train after which the page says the source is silent.
DEFAULT_SILENT_AFTER_S = 5.0
#: A train with at least this fraction of unknown spectra raises an alert on the page.
UNKNOWN_ALERT_FRACTION = 0.5
#: Alerts listed on the page (the most recent).
ALERT_HISTORY = 50
#: Seconds between two snapshot files (``--plot FILE.html``).
DEFAULT_SNAPSHOT_S = 3.0
#: Seconds over which throughput is measured on the page.
RATE_WINDOW_S = 5.0
#: How often each open event stream looks for a new payload (seconds).
_STREAM_POLL_S = 0.05
DEFAULT_HOST = "127.0.0.1"
_ALLOWED = ("GET", "HEAD")


def parse_serve(text: str) -> tuple[str, int]:
    """``'[HOST:]PORT'`` -> (host, port); the host defaults to 127.0.0.1.

    Raises
    ------
    StreamError
        If the port is not an integer in 0..65535.
    """
    host, _, port = str(text).rpartition(":")
    host = host.strip("[]") or DEFAULT_HOST
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise StreamError(f"--serve expects [HOST:]PORT with a port in 0..65535; got "
                          f"{text!r}.")
    return host, number


def _now_text() -> str:
    return _dt.datetime.now().strftime("%H:%M:%S")


class LivePage:
    """The live dashboard: served over HTTP, written as a snapshot file, or both.

    Parameters
    ----------
    model : SpectraClassifier, optional
        The model (its references and regions are drawn); None for a label-free watch.
    classes : sequence of str, optional
        The states (default: the model's).
    serve : (str, int), optional
        Host and port to serve on (port 0: any free port, see :attr:`url`).
    snapshot : path-like, optional
        An ``.html`` file rewritten every `snapshot_every` seconds with the page as it is.
    history : int, default 2000
        Trains on the timeline.
    silent_after : float, default 5
        Seconds without a train before the page says the source is silent.
    snapshot_every : float, default 3
        Seconds between snapshot files.
    max_updates_per_s : float, default 2
        Most pushes to the page per second.

    Examples
    --------
    >>> page = LivePage(clf, serve=("127.0.0.1", 8050)).start()  # doctest: +SKIP
    >>> for result in watcher:  # doctest: +SKIP
    ...     page.publish(result)
    >>> page.close()  # doctest: +SKIP
    """

    def __init__(self, model=None, classes=None, *, serve: tuple[str, int] | None = None,
                 snapshot=None, history: int = DEFAULT_HISTORY,
                 silent_after: float = DEFAULT_SILENT_AFTER_S,
                 snapshot_every: float = DEFAULT_SNAPSHOT_S,
                 max_updates_per_s: float = MAX_UPDATES_PER_S):
        self.serve = serve
        self.snapshot = None if snapshot is None else Path(snapshot)
        self.history = int(history)
        self.silent_after = float(silent_after)
        self.snapshot_every = float(snapshot_every)
        self.interval = 1.0 / float(max_updates_per_s)
        self._inbox: deque = deque()  # (monotonic time, TrainSummary), appended by the loop
        self._records: deque = deque(maxlen=self.history)
        self._alerts: deque = deque(maxlen=ALERT_HISTORY)
        self._rates: deque = deque()
        self._latest = None
        self._last_arrival = None
        self._silent = False
        self._unknown_high = False
        self._started = time.monotonic()
        self._new_model = None
        self._payload = "{}"
        self.version = 0
        self._html_cache: dict = {}
        self._stop = threading.Event()  # ends the event streams
        self._stop_publisher = threading.Event()
        self._threads: list[threading.Thread] = []
        self._publisher_thread = None
        self._server = None
        self._socket = None
        self._set_model(model, classes)
        self._build_payload()

    # -- the loop's side ------------------------------------------------------------------------
    def publish(self, result) -> None:
        """Hand one train's summary to the page (never blocks; O(1))."""
        self._inbox.append((time.monotonic(), result))

    def set_model(self, model) -> None:
        """A reloaded model: its references and states appear on the next update."""
        self._new_model = model

    # -- the page's side -------------------------------------------------------------------------
    def _set_model(self, model, classes=None) -> None:
        from ..report.panels import model_panel

        self.model = model
        self.panel = None if model is None else model_panel(model)
        self.classes = [str(c) for c in (classes if classes is not None else
                                         (self.panel.classes if self.panel else []))]
        self._html_cache = {}

    def _drain(self) -> None:
        from ..report.panels import train_record

        if self._new_model is not None:
            model, self._new_model = self._new_model, None
            self._set_model(model)
        while self._inbox:
            arrived, result = self._inbox.popleft()
            rec = train_record(result)
            self._records.append(rec)
            self._latest = result
            self._last_arrival = arrived
            self._rates.append((arrived, rec["n_spectra"]))
            self._silent = False
            self._alert_on(rec)
        now = time.monotonic()
        while self._rates and now - self._rates[0][0] > RATE_WINDOW_S:
            self._rates.popleft()
        since = now - (self._last_arrival if self._last_arrival is not None else self._started)
        if since > self.silent_after and not self._silent:
            self._silent = True
            what = "no train yet" if self._last_arrival is None else "no train"
            self._alerts.appendleft({"time": _now_text(), "kind": "silent",
                                     "text": f"source silent: {what} for {since:.0f} s"})

    def _alert_on(self, rec: dict) -> None:
        tid = rec["train_id"]
        if rec["alert"]:
            self._alerts.appendleft({"time": _now_text(), "kind": "state",
                                     "text": f"state change: {rec['alert']}", "train_id": tid})
        if rec["model_reloaded"]:
            self._alerts.appendleft({"time": _now_text(), "kind": "model",
                                     "text": f"model reloaded before train {tid}"})
        high = rec["unknown"] >= UNKNOWN_ALERT_FRACTION
        if high and not self._unknown_high:
            self._alerts.appendleft({"time": _now_text(), "kind": "unknown", "train_id": tid,
                                     "text": f"unknown spectra: {100 * rec['unknown']:.0f} % "
                                             f"of train {tid}"})
        self._unknown_high = high
        for ev in rec["changes"]:
            where = f" (change point at spectrum {ev['index']})" if "index" in ev else ""
            self._alerts.appendleft({"time": _now_text(), "kind": "change", "train_id": tid,
                                     "text": f"label-free change at train {tid}{where}"})

    def payload(self) -> dict:
        """What the page shows now (a JSON-ready dict)."""
        from ..report.panels import train_mean

        recs = list(self._records)
        latest = recs[-1] if recs else None
        timeline = {"train_id": [r["train_id"] for r in recs],
                    "confidence": [r["confidence"] for r in recs],
                    "unknown": [r["unknown"] for r in recs]}
        for k, c in enumerate(self.classes):
            timeline[f"f{k}"] = [r["fractions"].get(c) for r in recs]
        events = [r["train_id"] for r in recs if r["alert"] or r["changes"]]
        span = (self._rates[-1][0] - self._rates[0][0]) if len(self._rates) > 1 else 0.0
        n_recent = sum(n for _, n in list(self._rates)[1:])
        mean = None
        if self._latest is not None and self.model is not None:
            found = train_mean(self._latest, self.model.axis_)
            if found is not None:
                mean = {"x": found[0].tolist(), "y": [_json_num(v) for v in found[1]]}
        lag = None if self._last_arrival is None else time.monotonic() - self._last_arrival
        if latest is None:
            status = "waiting for the first train"
        elif self._silent:
            status = "source silent"
        else:
            status = "live"
        return {
            "version": self.version, "classes": self.classes, "model": self.model is not None,
            "status": status, "train_id": latest and latest["train_id"],
            "state": latest and latest["state"],
            "confidence": latest and latest["confidence"],
            "unknown": latest and latest["unknown"],
            "n_spectra": latest and latest["n_spectra"],
            "latency_ms": None if not latest or latest["latency"] is None
            else 1e3 * latest["latency"],
            "lag_s": lag, "trains_per_s": (len(self._rates) - 1) / span if span > 0 else None,
            "spectra_per_s": n_recent / span if span > 0 else None,
            "timeline": timeline, "events": {"train_id": events, "y": [1.0] * len(events)},
            "mean": mean, "alerts": list(self._alerts), "trains": len(recs),
            "updated": _now_text(),
        }

    def _build_payload(self) -> None:
        self._drain()
        self.version += 1
        self._payload = json.dumps(self.payload(), allow_nan=False, default=_json_num)

    def html(self, live: bool = True) -> str:
        """The page: live (it subscribes to the server's events) or a frozen snapshot."""
        from ._page_html import page_html

        key = (live, tuple(self.classes), id(self.model))
        if key not in self._html_cache:
            self._html_cache = {key: page_html(self.panel, self.classes, live=live)}
        payload = self._payload.replace("</", "<\\/")  # no "</script>" inside the script
        return self._html_cache[key].replace("__INITIAL_PAYLOAD__", payload, 1)

    def write_snapshot(self, path=None) -> Path:
        """Write the page as it is now, frozen (no server needed), atomically."""
        from ..io._files import atomic_write

        path = Path(path or self.snapshot)
        text = self.html(live=False)
        with atomic_write(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        return path

    # -- threads ----------------------------------------------------------------------------------
    @property
    def url(self) -> str | None:
        """Where the page is served (None when it is not)."""
        if self._socket is None:
            return None
        host, port = self._socket.getsockname()[:2]
        return f"http://{host if ':' not in host else f'[{host}]'}:{port}/"

    def start(self) -> LivePage:
        """Start the publisher thread and, with `serve`, the server; returns self.

        Raises
        ------
        StreamError
            If the host and port cannot be listened on.
        """
        if self.serve is not None:
            host, port = self.serve
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                sock.close()
                raise StreamError(f"The live page cannot listen on {host}:{port} "
                                  f"({exc.strerror or exc}); choose another --serve port."
                                  ) from None
            sock.listen(64)
            self._socket = sock
            self._start_server(sock)
        self._publisher_thread = threading.Thread(target=self._publisher, daemon=True,
                                                  name="specstate-live-page")
        self._publisher_thread.start()
        return self

    def _publisher(self) -> None:
        last_snapshot = -math.inf
        while not self._stop_publisher.wait(self.interval):
            if self._inbox or self._new_model is not None or self._due_silent():
                self._build_payload()
            if self.snapshot is not None and \
                    time.monotonic() - last_snapshot >= self.snapshot_every:
                last_snapshot = time.monotonic()
                try:
                    self.write_snapshot()
                except OSError as exc:
                    log.warning("cannot write the live page snapshot %s: %s", self.snapshot,
                                exc)

    def _due_silent(self) -> bool:
        ref = self._last_arrival if self._last_arrival is not None else self._started
        return not self._silent and time.monotonic() - ref > self.silent_after

    def _start_server(self, sock) -> None:
        import uvicorn

        config = uvicorn.Config(self._app(), log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        t = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                             name="specstate-live-server", daemon=True)
        t.start()
        self._threads.append(t)
        deadline = time.monotonic() + 10
        while not self._server.started and t.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            raise StreamError("The live page's server did not start.")
        log.info("live page at %s", self.url)

    def _app(self):
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse, Response, StreamingResponse
        from starlette.routing import Route

        page = self

        async def index(request):
            return HTMLResponse(page.html(live=True), headers={"Cache-Control": "no-store"})

        async def state(request):
            return Response(page._payload, media_type="application/json",
                            headers={"Cache-Control": "no-store"})

        async def events(request):
            async def stream():
                seen, sent = -1, -math.inf
                try:
                    while not page._stop.is_set():
                        now = time.monotonic()
                        if page.version != seen and now - sent >= page.interval:
                            seen, sent = page.version, now  # at most 1/interval a second
                            yield f"data: {page._payload}\n\n"
                        await asyncio.sleep(_STREAM_POLL_S)
                except asyncio.CancelledError:  # the browser went away: end this stream only
                    return

            return StreamingResponse(stream(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store",
                                              "X-Accel-Buffering": "no"})

        routes = [Route("/", index, methods=["GET"]),
                  Route("/state.json", state, methods=["GET"]),
                  Route("/events", events, methods=["GET"])]
        return _ReadOnly(Starlette(routes=routes))

    def close(self) -> None:
        """Publish what is left (last snapshot written), stop the server and threads."""
        self._stop_publisher.set()
        if self._publisher_thread is not None:  # first: then nothing else drains the inbox
            self._publisher_thread.join(timeout=5)
            self._publisher_thread = None
        self._build_payload()
        if self.snapshot is not None:
            self.write_snapshot()
        if self._server is not None:
            time.sleep(self.interval + 2 * _STREAM_POLL_S)  # open pages get the last update
            self._server.should_exit = True
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []
        if self._socket is not None:
            self._socket.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class _ReadOnly:
    """ASGI middleware: any method but GET/HEAD gets 405 (nothing here changes anything)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in _ALLOWED:
            from starlette.responses import PlainTextResponse

            response = PlainTextResponse("The live page is read-only: GET only.",
                                         status_code=405, headers={"Allow": "GET, HEAD"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _json_num(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
