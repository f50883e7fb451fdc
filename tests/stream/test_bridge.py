"""End-to-end: karabo-bridge servers on 127.0.0.1 streaming trains to the watch loop."""

import csv
import socket
import threading
import time

import msgpack
import numpy as np
import pytest

from specstate.stream import CsvSink, Watcher, watch

from ._helpers import (
    KEY,
    N_POINTS,
    N_PULSES,
    SOURCE,
    XGM,
    XGM_KEY,
    XGM_PAD,
    RawRepServer,
    train,
)

FIRST = 1000
N_TRAINS = 50
CHANGE = FIRST + 25  # first train of the second state
NOISY = FIRST + 40  # one train of the old state after the change: must not raise an alert
NO_BEAM = {FIRST + 5: 3}  # train -> pulses below the monitor threshold
NAN = {FIRST + 10: 2}  # train -> pulses holding NaN
NO_SOURCE = FIRST + 15
WRONG_LENGTH = FIRST + 20
NO_KEY = FIRST + 30
MIN_MONITOR = 0.5
ALERT_TRAINS = 3


def _garbage():
    """Three messages a bridge server could never send, but a broken network might."""
    bad_header = msgpack.packb({"source": SOURCE, "content": "array", "path": KEY,
                                "dtype": "not-a-dtype", "shape": [2]})
    return [
        [b"this is not msgpack \xc1"],
        [msgpack.packb(12), msgpack.packb({"a": 1})],  # header that is not a dict
        [msgpack.packb({"source": SOURCE, "content": "msgpack"}), msgpack.packb({}),
         bad_header, b"\x00" * 8],
    ]


def _trains(states):
    """The 50 good trains (data, meta) with the problems planted in them."""
    trains = []
    for i in range(N_TRAINS):
        tid = FIRST + i
        state = "bcc" if tid < CHANGE or tid == NOISY else "hcp"
        x = train(states, state, offset=i)
        xgm = np.zeros(XGM_PAD, np.float32)
        xgm[:N_PULSES] = 1.0
        xgm[:NO_BEAM.get(tid, 0)] = 0.1
        if tid in NAN:
            x[:NAN[tid]] = np.nan
        if tid == WRONG_LENGTH:
            x = x[:, :-10].copy()
        data = {XGM: {XGM_KEY: xgm}}
        if tid != NO_SOURCE:
            data[SOURCE] = {KEY if tid != NO_KEY else "data.other": x}
        meta = {src: {"source": src, "timestamp.tid": tid} for src in data}
        trains.append((data, meta))
    return trains


def test_end_to_end_req_with_state_change_and_bad_messages(states, model, tmp_path):
    from karabo_bridge import serialize

    messages = [serialize(d, m) for d, m in _trains(states)]
    # after trains 1003, 1021 and 1042 (inserted from the back so positions hold)
    for pos, frames in reversed(list(zip((4, 22, 43), _garbage()))):
        messages.insert(pos, frames)
    out = tmp_path / "results.csv"
    with RawRepServer(messages) as server:
        watcher = Watcher(model, server.endpoint, source_name=SOURCE, key=KEY,
                          monitor=f"{XGM}:{XGM_KEY}", min_monitor=MIN_MONITOR,
                          alert_trains=ALERT_TRAINS, max_trains=len(messages),
                          idle_timeout=20, recv_timeout=2)
        with CsvSink(out, watcher.classes) as sink:
            results = []
            for r in watcher:
                sink.write(r)
                results.append(r)
    assert server.sent == len(messages) == N_TRAINS + 3

    s = watcher.summary
    assert s.trains == N_TRAINS + 3
    assert dict(s.errors) == {"malformed": 3, "missing_source": 1, "missing_key": 1,
                              "wrong_length": 1, "nonfinite": 2}
    assert s.no_beam == 3
    assert s.skipped == 0 and s.late == 0
    # one alert, at the first train of the new state, confirmed ALERT_TRAINS trains later;
    # the single noisy train after the change does not flap
    assert [(a.train_id, a.confirmed_train_id, a.previous, a.state) for a in s.alerts] == [
        (CHANGE, CHANGE + ALERT_TRAINS - 1, "bcc", "hcp")]
    by_tid = {r.train_id: r for r in results if r.train_id is not None}
    assert by_tid[CHANGE + ALERT_TRAINS - 1].alert is not None
    assert by_tid[NOISY].state == "bcc" and by_tid[NOISY].alert is None
    assert by_tid[FIRST + 5].no_beam == 3 and by_tid[FIRST + 5].n_classified == N_PULSES - 3
    assert by_tid[FIRST + 10].n_classified == N_PULSES - 2
    for tid in (NO_SOURCE, WRONG_LENGTH, NO_KEY):
        assert by_tid[tid].state is None and by_tid[tid].n_classified == 0

    rows = list(csv.DictReader(out.open()))
    assert len(rows) == N_TRAINS  # undecodable messages have no train to record
    assert [int(r["train_id"]) for r in rows] == list(range(FIRST, FIRST + N_TRAINS))
    for row in rows:
        tid = int(row["train_id"])
        if tid in (NO_SOURCE, WRONG_LENGTH, NO_KEY):
            assert row["state"] == "" and row["errors"]
            continue
        expected = "bcc" if tid < CHANGE or tid == NOISY else "hcp"
        assert row["state"] == expected, tid
        assert float(row[f"fraction_{expected}"]) > 0.5
        assert 0.5 < float(row["confidence"]) <= 1.0
        assert int(row["n_spectra"]) == N_PULSES
    assert {"train_id", "n_spectra", "state", "confidence", "fraction_bcc", "fraction_hcp",
            "ambiguous", "no_beam"} <= set(rows[0])
    assert rows[5]["no_beam"] == "3"


def _wait_first(results, timeout):
    t0 = time.monotonic()
    while not results and time.monotonic() - t0 < timeout:
        time.sleep(0.01)


def test_sub_socket_counts_skipped_and_late_trains(states, model):
    from karabo_bridge import ServerInThread

    # trains of the second phase: a gap of 3 (skipped) and one that comes back in time (late)
    tids = [500, 501, 502, 506, 507, 505, 508, 509]
    results = []
    started = threading.Event()
    with ServerInThread("tcp://127.0.0.1:*", sock="PUB") as server:
        endpoint = server.endpoint

        def publish():
            # a PUB socket drops what it sends before the subscriber joined: warm up
            tid = 1
            while not started.is_set() and tid < 2000:
                server.feed({"WARMUP": {"x": np.zeros(1)}},
                            {"WARMUP": {"timestamp.tid": tid}})
                tid += 1
                time.sleep(0.02)
            for i, t in enumerate(tids):
                server.feed({SOURCE: {KEY: train(states, "hcp", offset=i)}},
                            {SOURCE: {"timestamp.tid": t}})
                time.sleep(0.05)

        feeder = threading.Thread(target=publish, daemon=True)
        feeder.start()
        for r in watch(model, endpoint, source_name=SOURCE, key=KEY, sub=True,
                       idle_timeout=5, recv_timeout=0.5):
            results.append(r)
            started.set()
            if r.train_id == tids[-1]:
                break
        feeder.join(timeout=5)
    real = [r for r in results if r.train_id is not None and r.train_id >= tids[0]]
    assert [r.train_id for r in real] == tids
    assert [r.skipped_before for r in real[1:]] == [0, 0, 3, 0, 0, 0, 0]
    assert [r.late for r in real] == [False] * 5 + [True] + [False] * 2
    assert all(r.state == "hcp" for r in real)
    warmup = [r for r in results if r.train_id is not None and r.train_id < tids[0]]
    assert warmup and all(r.errors == {"missing_source": 1} for r in warmup)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lost_connection_is_retried_and_reported(states, model, caplog):
    """No server at first (timeouts, reconnects with backoff), then one starts: trains flow."""
    from karabo_bridge import ServerInThread

    endpoint = f"tcp://127.0.0.1:{_free_port()}"
    watcher = Watcher(model, endpoint, source_name=SOURCE, key=KEY, max_trains=3,
                      idle_timeout=20, recv_timeout=0.2, reconnect_after=0.4)
    holder = {}

    def start_later():
        time.sleep(1.0)
        server = ServerInThread(endpoint, sock="REP")
        server.start()
        holder["server"] = server
        for i in range(3):
            server.feed({SOURCE: {KEY: train(states, "bcc", offset=i)}},
                        {SOURCE: {"timestamp.tid": 7 + i}})

    late_start = threading.Thread(target=start_later, daemon=True)
    late_start.start()
    with caplog.at_level("WARNING", logger="specstate.stream"):
        results = list(watcher)
    late_start.join()
    holder["server"].stop()
    assert [r.train_id for r in results] == [7, 8, 9]
    assert all(r.state == "bcc" for r in results)
    assert watcher.summary.timeouts >= 1 and watcher.summary.reconnects >= 1
    assert "no train from" in caplog.text and "arrive again" in caplog.text


def test_stream_that_changes_spectrum_length_is_reported_not_fatal(states, model, caplog):
    from karabo_bridge import serialize

    lengths = [N_POINTS, N_POINTS, N_POINTS + 5, N_POINTS + 5, N_POINTS]
    messages = []
    for i, m in enumerate(lengths):
        x = np.zeros((2, m), np.float32)
        x[:, :N_POINTS] = train(states, "hcp", n=2)[:, :min(m, N_POINTS)]
        messages.append(serialize({SOURCE: {KEY: x}}, {SOURCE: {"timestamp.tid": i + 1}}))
    with RawRepServer(messages) as server, caplog.at_level("WARNING"):
        results = list(watch(model, server.endpoint, max_trains=len(lengths), idle_timeout=10))
    assert [r.state for r in results] == ["hcp", "hcp", None, None, "hcp"]
    assert [r.errors.get("wrong_length", 0) for r in results] == [0, 0, 1, 1, 0]
    assert caplog.text.count("model expects") == 1  # said once per change, counted per train


@pytest.mark.parametrize("bad", ["localhost:4545", "http://x"])
def test_bad_endpoint_is_one_sentence(model, bad, tmp_path):
    from specstate.exceptions import StreamError

    with pytest.raises(StreamError, match="folder|tcp://host:port"):
        Watcher(model, bad)
