"""The live page of `specstate watch --serve`: real bridge server, real HTTP, real browser."""

import http.client
import json
import os
import threading
import time
import urllib.request
from pathlib import Path

from specstate.cli.main import main

from ._helpers import KEY, SOURCE, train

#: Where the README's screenshot of the live page goes when SPECSTATE_SCREENSHOTS is set.
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "live-page.png"


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def _wait_url(url, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return _get(url)
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


class _Feeder:
    """Feeds trains to a karabo_bridge.ServerInThread when the test says so."""

    def __init__(self, server, states):
        self.server, self.states = server, states
        self.sent = 0

    def send(self, state, n=1, first=1000):
        for _ in range(n):
            tid = first + self.sent
            self.server.feed({SOURCE: {KEY: train(self.states, state, offset=self.sent)}},
                             {SOURCE: {"timestamp.tid": tid}})
            self.sent += 1
        return first + self.sent - 1


def _watch(endpoint, port, tmp_path, status):
    status["rc"] = main(["watch", str(status["model"]), endpoint, "--source", SOURCE,
                         "--key", KEY, "--serve", f"127.0.0.1:{port}", "--timeout", "30",
                         "--alert-trains", "1", "--duration", "60",
                         "--max-trains", str(status["max"])])


def test_live_page_updates_in_the_browser_without_reload(states, model_path, tmp_path,
                                                         browser, capsys):
    from karabo_bridge import ServerInThread

    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    status = {"model": model_path, "max": 6}
    with ServerInThread("tcp://127.0.0.1:*", sock="REP") as server:
        feeder = _Feeder(server, states)
        t = threading.Thread(target=_watch, args=(server.endpoint, port, tmp_path, status),
                             daemon=True)
        t.start()
        # the page answers before the first train arrives
        code, body = _wait_url(base)
        assert code == 200 and b"waiting for the first train" in body
        payload = json.loads(_get(base + "state.json")[1])
        assert payload["status"] == "waiting for the first train"
        assert payload["train_id"] is None

        d = browser.driver
        d.get(base)
        browser.wait_for("window.specstatePayload !== undefined")
        first = feeder.send("bcc", 2)
        browser.wait_for(f"document.getElementById('train-id').textContent === '{first}'")
        assert d.find_element("id", "state").text == "bcc"
        browser.wait_for("Bokeh.documents.length > 0 && Bokeh.documents[0]"
                         ".get_model_by_name('timeline').data.train_id.length === 2")
        mean = d.execute_script("return Bokeh.documents[0].get_model_by_name('train_mean')"
                                ".data.y.length")
        assert mean > 0  # the latest train's mean spectrum is drawn
        marker = d.execute_script("window.__sameDocument = 42; return 42")
        # a new train changes the page without a reload (same document, new values)
        last = feeder.send("hcp", 2)
        browser.wait_for(f"document.getElementById('train-id').textContent === '{last}'")
        assert d.find_element("id", "state").text == "hcp"
        assert d.execute_script("return window.__sameDocument") == marker
        browser.wait_for("document.getElementById('alerts').textContent"
                         ".includes('state change')")
        assert browser.js_errors() == []
        if os.environ.get("SPECSTATE_SCREENSHOTS"):
            time.sleep(0.5)
            d.save_screenshot(str(SCREENSHOT))

        # read-only: every other method gets 405, on every path
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for method, path in (("POST", "/"), ("PUT", "/state.json"), ("DELETE", "/events"),
                             ("PATCH", "/nowhere")):
            conn.request(method, path, body=b"x")
            r = conn.getresponse()
            r.read()
            assert r.status == 405, (method, path)
        conn.close()

        # a browser that disconnects does not stop the loop or the server
        d.get("about:blank")
        feeder.send("hcp", 2)
        t.join(timeout=30)
    assert status.get("rc") == 0
    out = capsys.readouterr().out
    assert f"live page: {base}" in out
    assert "trains: 6 (6 classified)" in out


def test_serve_option_refuses_a_bad_port(model_path, capsys):
    assert main(["watch", str(model_path), "tcp://127.0.0.1:1", "--serve", "localhost:http"]
                ) == 2
    assert "--serve expects [HOST:]PORT" in capsys.readouterr().err


def test_a_busy_serve_port_exits_2_before_writing_results(model_path, tmp_path, capsys):
    import socket

    out = tmp_path / "r.nxs"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["watch", str(model_path), "tcp://127.0.0.1:1", "--serve",
                     f"127.0.0.1:{port}", "-o", str(out)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert not out.exists()


def test_the_snapshot_file_loads_in_the_browser_and_shows_the_last_train(model, states,
                                                                        tmp_path, browser):
    import numpy as np

    from specstate.means import StateMeans
    from specstate.stream.page import LivePage

    x = train(states, "hcp")
    result = model.classify(x)
    from specstate.results import TrainSummary

    t = TrainSummary(4242, n_spectra=len(x), name="snap")
    t.fill(result.with_ids(pulse_ids=np.arange(len(x))))
    t.state_means = StateMeans.of(t.classification, x)
    page = LivePage(model, snapshot=tmp_path / "live.html")
    page.publish(t)
    page.close()
    d = browser.driver
    d.get((tmp_path / "live.html").as_uri())
    browser.wait_for("document.getElementById('train-id').textContent === '4242'")
    assert d.find_element("id", "state").text == "hcp"
    n = browser.wait_for("Bokeh.documents.length > 0 && Bokeh.documents[0]"
                         ".get_model_by_name('train_mean').data.y.length")
    assert n > 0
    assert browser.js_errors() == []  # and no connection attempted: a snapshot needs no server
