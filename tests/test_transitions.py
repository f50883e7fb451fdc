import numpy as np
import pytest

from specstate import locate_transitions
from specstate.exceptions import SpectraFormatError
from specstate.transitions import Transition, transition_error


def test_clean_change():
    states = ["bcc"] * 10 + ["hcp"] * 10
    (t,) = locate_transitions(states)
    assert t == Transition(10, "bcc", "hcp", (9, 10))
    assert t.width == 0


def test_flicker_is_not_a_transition():
    states = np.array([0] * 8 + [1] + [0] * 8)
    assert locate_transitions(states) == []


def test_uncertain_interval_and_best_change_point():
    states = np.array([0] * 6 + [1, 0, 1, 1, 0] + [1] * 6)
    (t,) = locate_transitions(states, min_run=3)
    assert t.low_confidence == (5, 11)
    # within 6..10 the states are 1,0,1,1,0. Splitting before 6 disagrees at 7 and 10 (2),
    # before 7 at 6, 7, 10 (3), before 8 at 6 and 10 (2), before 9 at 6, 8, 10 (3), before
    # 10 at 6, 8, 9 (3), before 11 at 6, 8, 9 (3): two splits tie at 2, the earliest wins.
    assert t.index == 6


def test_probabilities_with_confidence_and_classes():
    p1 = np.concatenate([np.full(10, 0.05), [0.45, 0.55, 0.6], np.full(10, 0.95)])
    proba = np.column_stack([1 - p1, p1])
    (t,) = locate_transitions(proba, classes=np.array(["low", "high"]), min_confidence=0.8)
    assert (t.from_state, t.to_state) == ("low", "high")
    assert t.low_confidence == (9, 13)
    assert t.index == 11


def test_ambiguous_flags_break_runs():
    states = np.array([0] * 5 + [1] * 5)
    amb = np.zeros(10, bool)
    amb[4:6] = True
    (t,) = locate_transitions(states, ambiguous=amb)
    assert t.low_confidence == (3, 6)


def test_several_transitions():
    states = ["a"] * 5 + ["b"] * 5 + ["a"] * 5
    ts = locate_transitions(states)
    assert [(t.from_state, t.to_state, t.index) for t in ts] == [("a", "b", 5), ("b", "a", 10)]


def test_transition_error():
    t = Transition(190, 0, 1, (189, 190))
    assert transition_error(t, (185, 195)) == 0
    assert transition_error(Transition(180, 0, 1, (179, 180)), (185, 195)) == 5
    assert transition_error(Transition(197, 0, 1, (196, 197)), (185, 195)) == 1


def test_errors():
    with pytest.raises(SpectraFormatError, match="got shape"):
        locate_transitions(np.zeros((2, 2, 2)))
    with pytest.raises(SpectraFormatError, match="2 columns but 3 classes"):
        locate_transitions(np.zeros((4, 2)), classes=[1, 2, 3])
    with pytest.raises(SpectraFormatError, match="min_run"):
        locate_transitions([0, 1], min_run=0)
