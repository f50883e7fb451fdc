"""find_changes: the first spectrum of each new segment of a whole run."""

import numpy as np
import pytest

from specstate import find_changes
from specstate.datasets import simulate_xrd_melt, simulate_xrd_ramp, stationary_stream
from specstate.exceptions import NonFiniteError, SpectraFormatError


@pytest.mark.parametrize("variant", ["phase", "lattice-jump"])
def test_ramp_segments_start_inside_the_transition_window(variant):
    ramp = simulate_xrd_ramp(variant=variant, random_state=11)
    start, stop = ramp.metadata["transition"]
    found = find_changes(ramp, rate=1.0)
    assert found.dtype.kind == "i" and found.size >= 1
    assert start - 2 <= found[0] <= stop + 2


def test_melt_at_the_end_of_a_ramp():
    run = simulate_xrd_melt(random_state=2)
    start, stop = run.metadata["transition"]
    found = find_changes(run.intensity, run.axis, rate=1.0)
    assert found.size == 1 and start - 3 <= found[0] <= stop + 3


def test_two_steps_and_nothing_else():
    rng = np.random.default_rng(8)
    x = np.concatenate(list(stationary_stream(40_000, random_state=rng)))
    x[15_000:, 40:44] += 60.0
    x[31_000:, 5:9] += 60.0
    found = find_changes(x)
    assert found.tolist() == pytest.approx([15_000, 31_000], abs=3)
    assert find_changes(x[:14_000]).size == 0


def test_bad_input():
    with pytest.raises(SpectraFormatError, match="empty chunk"):
        find_changes(np.zeros((0, 10)))
    x = np.ones((300, 16))
    x[7, 3] = np.inf
    with pytest.raises(NonFiniteError, match="spectrum 7"):
        find_changes(x)
