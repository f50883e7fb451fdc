"""``specstate watch SOURCE --changes``: label-free alerts from a real Karabo bridge server."""

import threading

import numpy as np
import pytest

from specstate.cli.main import main

from ._helpers import KEY, N_POINTS, SOURCE

N_PULSES = 27  # spectra per train
N_TRAINS = 40
CHANGE_TRAIN = 130  # first train of the new phase
FIRST = 100


@pytest.fixture(scope="module")
def patterns():
    """Expected counts of bcc (first pattern) and hcp (last) on a 200-point grid."""
    from specstate.datasets import simulate_xrd_ramp

    ramp = simulate_xrd_ramp(n_patterns=40, n_points=N_POINTS, transition=(18, 22),
                             noise=False, random_state=0)
    return ramp.intensity[0].astype(np.float64), ramp.intensity[-1].astype(np.float64)


def _serve(server, patterns):
    rng = np.random.default_rng(1)
    bcc, hcp = patterns
    for i in range(N_TRAINS):
        tid = FIRST + i
        mean = bcc if tid < CHANGE_TRAIN else hcp
        energy = rng.gamma(16.0, 1 / 16.0, N_PULSES)  # SASE pulse energies
        data = rng.poisson(mean[None, :] * energy[:, None]).astype(np.float32)
        server.feed({SOURCE: {KEY: data}}, {SOURCE: {"timestamp.tid": tid}})


def test_label_free_alert_names_the_train_of_the_change(patterns, capsys):
    from karabo_bridge import ServerInThread

    with ServerInThread("tcp://127.0.0.1:*", sock="REP") as server:
        feeder = threading.Thread(target=_serve, args=(server, patterns), daemon=True)
        feeder.start()
        status = main(["watch", server.endpoint, "--changes", "--source", SOURCE, "--key",
                       KEY, "--max-trains", str(N_TRAINS), "--timeout", "20"])
        feeder.join(timeout=10)
    captured = capsys.readouterr()
    assert status == 0, captured.err
    alerts = [line for line in captured.out.splitlines() if line.startswith("ALERT change")]
    assert len(alerts) == 1, captured.err
    assert f"estimated change point train {CHANGE_TRAIN}," in alerts[0]
    assert "detected at train 13" in alerts[0]  # the same train or the next few
    assert "label-free changes: 1" in captured.out
    assert f"trains: {N_TRAINS} (0 classified)" in captured.out


def test_a_single_positional_needs_changes(tmp_path, capsys):
    assert main(["watch", str(tmp_path)]) == 2
    assert "or --changes" in capsys.readouterr().err
    assert main(["watch", str(tmp_path), "--changes", "-o", str(tmp_path / "r.csv")]) == 2
    assert "need a MODEL" in capsys.readouterr().err


def test_with_a_model_change_events_come_beside_state_changes(patterns, model_path, capsys):
    from karabo_bridge import ServerInThread

    with ServerInThread("tcp://127.0.0.1:*", sock="REP") as server:
        feeder = threading.Thread(target=_serve, args=(server, patterns), daemon=True)
        feeder.start()
        status = main(["watch", str(model_path), server.endpoint, "--changes", "--source",
                       SOURCE, "--key", KEY, "--max-trains", str(N_TRAINS), "--timeout", "20",
                       "--alert-trains", "2"])
        feeder.join(timeout=10)
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"ALERT state change: train {CHANGE_TRAIN}: bcc -> hcp" in captured.out
    changes = [line for line in captured.out.splitlines() if line.startswith("ALERT change")]
    assert len(changes) == 1 and f"change point train {CHANGE_TRAIN}," in changes[0]
    assert f"trains: {N_TRAINS} ({N_TRAINS} classified)" in captured.out
    assert "label-free changes: 1" in captured.out


def test_label_free_watch_skips_trains_of_another_length_and_says_so_once(tmp_path, caplog):
    """The first train fixes the detector's length; later trains of another length are
    counted as skipped, and the log says so once per change of shape, not per train."""
    import logging

    from specstate.stream import Watcher
    from specstate.stream.packets import Packet

    rng = np.random.default_rng(3)
    watcher = Watcher(None, tmp_path, changes=True)
    good = watcher.process(Packet(1, spectra=rng.poisson(20.0, (30, 64)).astype(np.float32)))
    assert not good.errors
    with caplog.at_level(logging.WARNING, logger="specstate"):
        bad = [watcher.process(Packet(t, spectra=rng.poisson(20.0, (30, 60)).astype(
            np.float32))) for t in (2, 3, 4)]
    assert all(r.errors.get("wrong_length") == 1 for r in bad)
    said = [r for r in caplog.records if "got 60" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in caplog.records]


def test_with_a_model_a_train_the_model_cannot_read_goes_to_neither(model_path, tmp_path):
    """With a model and --changes, a train of the wrong length is skipped before the
    label-free detector sees it: the first train it sees fixes its length, so a wrong first
    train would make it refuse every good one after."""
    from specstate import SpectraClassifier
    from specstate.stream import Watcher
    from specstate.stream.packets import Packet

    model = SpectraClassifier.load(model_path)
    m = model.axis_.shape[0]
    rng = np.random.default_rng(4)
    watcher = Watcher(model, tmp_path, changes=True)
    wrong = watcher.process(Packet(1, spectra=rng.poisson(20.0, (30, m - 5)).astype(
        np.float32)))
    assert wrong.errors.get("wrong_length") == 1
    ok = watcher.process(Packet(2, spectra=rng.poisson(20.0, (30, m)).astype(np.float32)))
    assert not ok.errors and ok.n_classified + ok.unknown == 30
