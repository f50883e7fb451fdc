import numpy as np
import pytest

from specstate.datasets import simulate_xrd_ramp
from specstate.exceptions import SpectraFormatError
from specstate.report import demo_figure, plot_run, regions_table, save_figure
from specstate.transitions import locate_transitions


@pytest.fixture(scope="module")
def fitted():
    from specstate import SpectraClassifier

    s = simulate_xrd_ramp(n_patterns=40, n_points=1200, transition=(20, 22), random_state=3)
    train = np.r_[0, 1, 38, 39]
    clf = SpectraClassifier(n_regions=5, max_iter=60, random_state=0).fit(s[train], s.labels[train])
    return clf, s, train


def test_demo_figure_has_three_panels_and_saves_png(fitted, tmp_path):
    clf, s, train = fitted
    result = clf.classify(s)
    transitions = locate_transitions(result.proba, clf.classes_)
    fig = demo_figure(clf, s, result, transitions, truth=(20, 21), train=train, title="t")
    assert len(fig.axes) == 3
    spec_ax, bar_ax, run_ax = fig.axes
    # one shaded span per region on the spectra, one separability + one weight bar per region
    assert len(spec_ax.patches) == len(clf.regions_)
    assert len(bar_ax.patches) == 2 * len(clf.regions_)
    assert run_ax.get_xlim() == (-0.5, len(s) - 0.5)
    path = save_figure(fig, tmp_path / "f.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".*tmp"))


def test_plot_run_marks_wrong_spectra():
    proba = np.array([[0.9, 0.1]] * 5 + [[0.2, 0.8]] * 5)
    truth = np.array(["a"] * 4 + ["b"] * 6)
    ax = plot_run(proba, [], truth=(4, 4), classes=["a", "b"], true_labels=truth)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "wrong (1)" in labels
    with pytest.raises(SpectraFormatError, match=r"Expected probabilities of shape"):
        plot_run(np.zeros(5))


def test_regions_table_lists_every_region(fitted):
    clf = fitted[0]
    text = regions_table(clf)
    lines = text.splitlines()
    assert "region (deg)" in lines[0]
    assert len(lines) == 1 + len(clf.regions_)
    # numbered from 1, as the fit plan's "region 1", ...
    assert lines[1].split()[0] == "1" and lines[-1].split()[0] == str(len(clf.regions_))
    short = regions_table(clf, max_rows=2).splitlines()
    assert len(short) == 1 + 2 + 1 and "3 regions of lower weight" in short[-1]
