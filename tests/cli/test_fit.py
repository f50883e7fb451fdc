import re

import pytest

from specstate import io
from specstate.cli.main import main
from specstate.datasets import simulate_xrd_ramp

N_PATTERNS, N_POINTS = 30, 1500


@pytest.fixture(scope="module")
def ramp_folder(tmp_path_factory):
    """A small simulated ramp written as a folder of .xy files with labels.csv."""
    s = simulate_xrd_ramp(n_patterns=N_PATTERNS, n_points=N_POINTS, transition=(14, 16),
                          random_state=0)
    folder = tmp_path_factory.mktemp("data") / "ramp"
    io.write(s, str(folder) + "/")
    return folder


def test_fit_with_index_ranges_saves_a_loadable_model(ramp_folder, tmp_path, capsys):
    from specstate import SpectraClassifier

    model = tmp_path / "out" / "model.h5"
    rc = main(["fit", str(ramp_folder), "--labels", "0:3=bcc,27:=hcp", "-o", str(model),
               "--seed", "1", "--n-regions", "6"])
    out = capsys.readouterr().out
    assert rc == 0
    assert model.is_file()
    assert "Fitting on 6 of 30 spectra (bcc: 3, hcp: 3" in out
    assert "24 unlabelled left out" in out
    assert "separability" in out and "region (deg)" in out
    assert f"model saved to {model}" in out
    clf = SpectraClassifier.load(model)
    assert list(clf.classes_) == ["bcc", "hcp"]
    assert len(clf.regions_) == 6
    s = io.read(ramp_folder)
    pred = clf.predict(s.intensity[[0, 1, 28, 29]])
    assert list(pred) == ["bcc", "bcc", "hcp", "hcp"]


@pytest.mark.parametrize(
    "labels, match",
    [
        ("0:10=bcc,5:15=hcp", r"overlap at spectrum 5"),
        ("0:10=bcc", r"at least two states"),
        ("nonsense", r"neither an existing file nor a range"),
    ],
)
def test_fit_bad_labels_exit_2_with_one_error_line(ramp_folder, tmp_path, capsys, labels, match):
    model = tmp_path / "m.h5"
    rc = main(["fit", str(ramp_folder), "--labels", labels, "-o", str(model)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error: ")
    assert re.search(match, err[0])
    assert not model.exists()


@pytest.mark.parametrize("option, value, message", [
    ("--n-regions", "0", "expected 'auto' or an integer >= 1, got '0'"),
    ("--normalize", "max", "--normalize"),
])
def test_fit_bad_option_value_is_a_usage_error(ramp_folder, tmp_path, capsys, option, value,
                                               message):
    with pytest.raises(SystemExit) as exc:
        main(["fit", str(ramp_folder), "-l", "0:3=a,-3:=b", "-o", str(tmp_path / "m.h5"),
              option, value])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_fit_normalize_snv_is_written_into_the_model_and_printed(ramp_folder, tmp_path, capsys):
    from specstate import SpectraClassifier

    model = tmp_path / "snv.h5"
    rc = main(["fit", str(ramp_folder), "--labels", "0:3=bcc,27:=hcp", "-o", str(model),
               "--normalize", "snv"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "normalisation: SNV" in out
    clf = SpectraClassifier.load(model)
    assert clf.snv_ and not clf.normalize_
    s = io.read(ramp_folder)
    assert list(clf.predict(s.intensity[[0, 1, 28, 29]])) == ["bcc", "bcc", "hcp", "hcp"]
    rc = main(["info", str(model)])
    assert rc == 0 and "normalisation: SNV" in capsys.readouterr().out
