"""Fixtures of the facility tests: a simulated ramp as an EuXFEL run, a model fitted on it."""

import pytest

from .mockrun import SPEC_KEY, SPEC_SOURCE, write_mock_run

# ----------------------------------------------------------------------------- shared data
#: a short XRD pressure ramp: bcc up to pattern 28, mixed 28..31, hcp from 32
RAMP_PATTERNS = 60
RAMP_POINTS = 400
RAMP_TRANSITION = (28, 32)
TRAIN_LABELS = "0:12=bcc,48:60=hcp"


@pytest.fixture(scope="session")
def ramp():
    from specstate.datasets import simulate_xrd_ramp

    return simulate_xrd_ramp(n_patterns=RAMP_PATTERNS, n_points=RAMP_POINTS,
                             transition=RAMP_TRANSITION, random_state=0)


@pytest.fixture(scope="session")
def ramp_run(ramp, tmp_path_factory):
    """The ramp as an EuXFEL run: one spectrum per train, two sequence files."""
    return write_mock_run(tmp_path_factory.mktemp("raw") / "r0001", ramp, n_files=2)


@pytest.fixture(scope="session")
def ramp_model(ramp_run, tmp_path_factory):
    """A model fitted through the CLI on the run (label ranges count spectra in run order)."""
    from specstate.cli.main import main

    path = tmp_path_factory.mktemp("model") / "model.h5"
    rc = main(["fit", str(ramp_run), "--source", SPEC_SOURCE, "--key", SPEC_KEY,
               "--labels", TRAIN_LABELS, "-o", str(path)])
    assert rc == 0
    return path
