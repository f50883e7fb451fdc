"""``specstate watch`` alerts when a train is mostly unlike every fitted state (a real bridge)."""

import threading

import numpy as np

from specstate.cli.main import main

from ._helpers import KEY, N_POINTS, SOURCE

N_PULSES = 27
N_TRAINS = 30
FIRST = 200
MELT = 215  # first train of the unseen state


def _serve(server, known):
    rng = np.random.default_rng(2)
    x = np.linspace(0, 1, N_POINTS)
    hump = 0.3 + np.exp(-0.5 * ((x - 0.5) / 0.15) ** 2)  # a liquid: no Bragg peaks
    melt = hump * known.sum() / hump.sum()
    for i in range(N_TRAINS):
        tid = FIRST + i
        mean = known if tid < MELT else melt
        energy = rng.gamma(16.0, 1 / 16.0, N_PULSES)
        data = rng.poisson(mean[None, :] * energy[:, None]).astype(np.float32)
        server.feed({SOURCE: {KEY: data}}, {SOURCE: {"timestamp.tid": tid}})


def test_unknown_state_raises_one_alert_naming_the_train(xrd, model_path, capsys):
    from karabo_bridge import ServerInThread

    known = np.asarray(xrd.intensity[0], dtype=np.float64)
    with ServerInThread("tcp://127.0.0.1:*", sock="REP") as server:
        feeder = threading.Thread(target=_serve, args=(server, known), daemon=True)
        feeder.start()
        status = main(["watch", str(model_path), server.endpoint, "--source", SOURCE, "--key",
                       KEY, "--max-trains", str(N_TRAINS), "--timeout", "20"])
        feeder.join(timeout=10)
    out = capsys.readouterr().out
    assert status == 0
    alerts = [line for line in out.splitlines() if line.startswith("ALERT unknown spectra")]
    assert len(alerts) == 1, out
    # confirmed after --alert-trains (3) trains of the melt, naming them
    assert f"of train {MELT + 2} (since train {MELT})" in alerts[0]
    assert "100 %" in alerts[0] or "9" in alerts[0].split("%")[0]
