"""The live page on its own: payload, alerts, optional fields, HTTP (real uvicorn, no browser)."""

import http.client
import json
import socket
import time

import numpy as np
import pytest

from specstate.exceptions import StreamError
from specstate.means import StateMeans
from specstate.results import Alert, Classification, TrainSummary
from specstate.stream.page import LivePage, parse_serve


def _train(tid, state="a", *, unknown=0, n=8, m=5, **kw):
    t = TrainSummary(tid, n_spectra=n, n_classified=n - unknown, state=state, confidence=0.9,
                     counts={"a": n - unknown if state == "a" else 0,
                             "b": n - unknown if state == "b" else 0},
                     fractions={"a": float(state == "a"), "b": float(state == "b")},
                     unknown=unknown, latency=0.01, **kw)
    c = Classification(np.array([state] * n), np.tile([0.9, 0.1], (n, 1)), np.full(n, 0.9),
                       np.zeros(n, bool), np.array(["a", "b"]),
                       novel=np.arange(n) < unknown)
    t.state_means = StateMeans.of(c, np.full((n, m), float(tid)))
    return t


class _Model:
    classes_ = np.array(["a", "b"])
    axis_ = np.linspace(0, 1, 5)
    axis_name_, axis_unit_ = "q", "1/A"
    reference_mean_ = np.ones((2, 5))
    reference_std_ = np.zeros((2, 5))
    regions_ = ()


def test_payload_before_and_after_trains_and_alerts():
    page = LivePage(_Model())
    p = json.loads(page._payload)
    assert p["status"] == "waiting for the first train" and p["train_id"] is None
    assert "waiting for the first train" in page.html()
    page.publish(_train(1))
    assert json.loads(page._payload)["train_id"] is None  # publish only hands it over
    page.publish(_train(2, "b", alert=Alert(2, 2, "a", "b", 0.0)))
    page.publish(_train(3, "b", unknown=6, model_reloaded=True))
    page._build_payload()
    p = json.loads(page._payload)
    assert p["train_id"] == 3 and p["state"] == "b" and p["unknown"] == 0.75
    assert p["timeline"]["train_id"] == [1, 2, 3] and p["timeline"]["f1"] == [0, 1, 1]
    assert p["mean"]["y"] == [3.0] * 5  # the latest train's mean spectrum
    texts = [a["text"] for a in p["alerts"]]
    assert "unknown spectra: 75 % of train 3" in texts
    assert "model reloaded before train 3" in texts
    assert any(t.startswith("state change: train 2: a -> b") for t in texts)
    assert p["events"]["train_id"] == [2]


def test_label_free_page_with_change_events_and_a_silent_source():
    class Event:  # what the label-free detector's events carry (issue 11)
        index, detected_at, score = 117, 120, 9.5

    page = LivePage(None, classes=[], silent_after=0.0)
    assert 'name="train_mean"' not in page.html() and "label-free" in page.html()
    t = TrainSummary(40, n_spectra=8)
    t.changes = [Event()]
    page.publish(t)
    page._build_payload()
    p = json.loads(page._payload)
    assert p["state"] is None and p["model"] is False and p["mean"] is None
    assert "label-free change at train 40 (change point at spectrum 117)" in [
        a["text"] for a in p["alerts"]]
    time.sleep(0.01)
    page._build_payload()
    p = json.loads(page._payload)
    assert p["status"] == "source silent" and p["alerts"][0]["kind"] == "silent"


def test_snapshot_file_is_the_page_with_its_payload(tmp_path):
    page = LivePage(_Model(), snapshot=tmp_path / "live.html")
    page.publish(_train(7, "b"))
    page.close()
    text = (tmp_path / "live.html").read_text()
    payload = json.loads(text.split('id="payload">', 1)[1].split("</script>", 1)[0])
    assert payload["train_id"] == 7 and "snapshot" in text
    assert not list(tmp_path.glob(".*"))


@pytest.mark.parametrize(("text", "expected"), [
    ("8050", ("127.0.0.1", 8050)), ("0.0.0.0:80", ("0.0.0.0", 80)),
    ("[::1]:8050", ("::1", 8050)), (":0", ("127.0.0.1", 0))])
def test_parse_serve(text, expected):
    assert parse_serve(text) == expected


@pytest.mark.parametrize("text", ["http", "host:", "1:70000", "-1"])
def test_parse_serve_refuses(text):
    with pytest.raises(StreamError, match=r"--serve expects \[HOST:\]PORT"):
        parse_serve(text)


def test_a_busy_port_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(StreamError, match=f"cannot listen on 127.0.0.1:{port}"):
            LivePage(None, classes=[], serve=("127.0.0.1", port)).start()


def _events(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/events")
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("content-type").startswith("text/event-stream")
    return conn, r


def _next_event(r):
    while True:
        line = r.fp.readline()
        assert line, "the event stream ended"
        if line.startswith(b"data: "):
            return json.loads(line[6:])


def test_served_page_pushes_updates_is_read_only_and_survives_a_client_leaving():
    with LivePage(_Model(), serve=("127.0.0.1", 0)) as page:
        port = int(page.url.rsplit(":", 1)[1].strip("/"))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        r = conn.getresponse()
        assert r.status == 200 and b"Bokeh" in r.read()
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            conn.request(method, "/state.json", body=b"{}")
            r = conn.getresponse()
            r.read()
            assert r.status == 405 and r.getheader("allow") == "GET, HEAD"
        conn.request("GET", "/nowhere")
        r = conn.getresponse()
        r.read()
        assert r.status == 404
        conn.close()
        leaving, r1 = _events(port)
        assert _next_event(r1)["train_id"] is None  # the current state, at once
        leaving.sock.close()  # the browser goes away mid-stream
        page.publish(_train(11))
        staying, r2 = _events(port)
        deadline = time.monotonic() + 10
        p = _next_event(r2)
        while p["train_id"] != 11 and time.monotonic() < deadline:
            p = _next_event(r2)
        assert p["train_id"] == 11
        page.publish(_train(12, "b"))
        p = _next_event(r2)
        assert p["train_id"] == 12 and p["state"] == "b"
        staying.close()
