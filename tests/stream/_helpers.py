"""Helpers of the streaming tests: spectra of a state, a REP socket answered by the test."""

import threading

import numpy as np

N_POINTS = 200  # points per spectrum: small, so fitting and streaming stay fast
N_PULSES = 8  # spectra per train
SOURCE = "SPB_SIM/SPECTROMETER/DET:output"
KEY = "data.spectrum"
XGM = "SA1_XTD2_XGM/XGM/DOOCS:output"
XGM_KEY = "data.intensityTD"
XGM_PAD = 1000  # the XGM pads its per-pulse arrays to a fixed length


def train(states, state, n=N_PULSES, offset=0):
    """`n` spectra of `state` (cycling through the simulated patterns)."""
    x = states[state]
    return x[(np.arange(n) + offset) % len(x)].copy()


class RawRepServer:
    """A REP socket on 127.0.0.1 answered by the test with prepared multipart messages.

    Good trains are made with ``karabo_bridge.serialize`` (the facility's own protocol code);
    malformed ones are raw frames the server classes cannot produce.
    """

    def __init__(self, messages, poll_ms=50):
        import zmq

        self.messages = list(messages)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.sent = 0
        self._stop = threading.Event()
        self._poll_ms = poll_ms
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import zmq

        for frames in self.messages:
            while not self._stop.is_set():
                if self.sock.poll(self._poll_ms, zmq.POLLIN):
                    self.sock.recv()
                    self.sock.send_multipart(frames)
                    self.sent += 1
                    break
            if self._stop.is_set():
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self.ctx.destroy(linger=0)
