import numpy as np
import pytest

from specstate import Spectra
from specstate.exceptions import LabelError
from specstate.labels import parse_label_ranges, read_label_file, resolve_labels


def _spectra(n=10, labels=None, files=None):
    meta = {"files": files} if files is not None else {}
    return Spectra(np.zeros((n, 4)), labels=labels, metadata=meta)


def test_ranges_slice_semantics_and_unlabelled_gaps():
    a = parse_label_ranges("0:3=bcc, 7:=hcp", 10)
    assert a.labels.tolist() == ["bcc"] * 3 + [None] * 4 + ["hcp"] * 3
    assert a.labelled.tolist() == [True] * 3 + [False] * 4 + [True] * 3
    assert a.training_labels().tolist() == ["bcc"] * 3 + ["hcp"] * 3
    assert a.counts() == {"bcc": 3, "hcp": 3}


def test_ranges_negative_and_single_index():
    a = parse_label_ranges(":2=a,4=b,-1=c,-3:-2=d", 8)
    assert a.labels.tolist() == ["a", "a", None, None, "b", "d", None, "c"]


@pytest.mark.parametrize(
    "text, match",
    [
        ("0:5=a,3:8=b", r"'0:5=a' and '3:8=b' overlap at spectrum 3"),
        ("0:5", r"Expected a label range like 'START:STOP=LABEL'"),
        ("0:5=", r"Expected a label range"),
        ("x:5=a", r"Expected a label range"),
        ("20:30=a", r"reaches spectrum 20, but the data has 10 spectra"),
        ("5:5=a", r"selects no spectrum of the 10"),
        ("-12:=a", r"reaches spectrum -12, but the data has 10 spectra"),
        ("12=a", r"index 12 .* outside the 10 spectra"),
        (",", r"Expected label ranges like"),
    ],
)
def test_range_errors(text, match):
    with pytest.raises(LabelError, match=match):
        parse_label_ranges(text, 10)


def test_one_label_per_line_file(tmp_path):
    f = tmp_path / "labels.txt"
    f.write_text("a\na\n-\n\nb\n")
    a = resolve_labels(str(f), _spectra(5))
    assert a.labels.tolist() == ["a", "a", None, None, "b"]


def test_line_file_wrong_length(tmp_path):
    f = tmp_path / "labels.txt"
    f.write_text("a\nb\n")
    with pytest.raises(LabelError, match=r"has 2 lines but the data has 5 spectra"):
        resolve_labels(str(f), _spectra(5))


def test_csv_column(tmp_path):
    f = tmp_path / "table.csv"
    f.write_text("pressure,state\n1,low\n2,\n3,high\n")
    a = resolve_labels(f"{f}:state", _spectra(3))
    assert a.labels.tolist() == ["low", None, "high"]
    with pytest.raises(LabelError, match=r"has no column 'phase'; it has pressure, state"):
        resolve_labels(f"{f}:phase", _spectra(3))
    with pytest.raises(LabelError, match=r"Column 'state' .* has 3 labels but the data has 4"):
        read_label_file(f, 4, column="state")


def test_file_label_table_matched_by_name(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_text("file,label\nb.xy,hcp\na.xy,bcc\n")
    s = _spectra(3, files=[str(tmp_path / n) for n in ("a.xy", "b.xy", "c.xy")])
    a = resolve_labels(str(f), s)
    assert a.labels.tolist() == ["bcc", "hcp", None]
    s_other = _spectra(2, files=["x.xy", "y.xy"])
    with pytest.raises(LabelError, match=r"None of the data's files \(e.g. 'x.xy'\) is listed"):
        resolve_labels(str(f), s_other)


def test_labels_from_data():
    s = _spectra(4, labels=np.array(["a", "", "b", "nan"]))
    a = resolve_labels(None, s)
    assert a.labels.tolist() == ["a", None, "b", None]
    assert a.source == "the data"
    with pytest.raises(LabelError, match=r"The data carries no labels; give them with --labels"):
        resolve_labels(None, _spectra(4))


def test_unknown_spec_and_nothing_labelled(tmp_path):
    with pytest.raises(LabelError, match=r"neither an existing file nor a range"):
        resolve_labels(str(tmp_path / "missing.txt"), _spectra(3))
    f = tmp_path / "labels.txt"
    f.write_text("-\n-\n-\n")
    with pytest.raises(LabelError, match=r"No spectrum has a label"):
        resolve_labels(str(f), _spectra(3))


def test_integer_labels_become_ints(tmp_path):
    a = parse_label_ranges("0:2=0,2:4=1", 4)
    assert a.training_labels().tolist() == [0, 0, 1, 1]
    f = tmp_path / "labels.txt"
    f.write_text("1\n-\n2\n")
    assert resolve_labels(str(f), _spectra(3)).labels.tolist() == [1, None, 2]
    mixed = parse_label_ranges("0:2=0,2:4=b", 4)
    assert mixed.training_labels().tolist() == ["0", "0", "b", "b"]


def test_csv_column_matched_by_file_name(tmp_path):
    f = tmp_path / "table.csv"
    f.write_text("file,phase,pressure\nb.xy,hcp,20\na.xy,bcc,1\n")
    s = _spectra(3, files=["a.xy", "b.xy", "c.xy"])
    a = resolve_labels(f"{f}:phase", s)
    assert a.labels.tolist() == ["bcc", "hcp", None]
    assert a.source == f"{f}:phase"


def test_a_range_past_the_end_is_an_error_naming_the_number_of_spectra():
    # what a new user met: 55:70=B on 60 spectra was silently cut to 55:60
    with pytest.raises(LabelError, match=r"'55:70=B' reaches spectrum 70, but the data has 60 "
                                         r"spectra \(0\.\.59; ranges may end at 60\)"):
        parse_label_ranges("0:3=A,55:70=B", 60)
    assert parse_label_ranges("0:3=A,55:60=B", 60).n_labelled == 8  # up to the end is fine


def test_cli_fit_refuses_a_range_past_the_end(tmp_path, capsys):
    from specstate import io
    from specstate.cli.main import main

    data = tmp_path / "d.npz"
    io.write(Spectra(np.random.default_rng(0).random((60, 8))), data)
    assert main(["fit", str(data), "--labels", "0:3=A,55:70=B", "-o",
                 str(tmp_path / "m.h5")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The label range '55:70=B'") and "60 spectra" in err
    assert "Traceback" not in err and not (tmp_path / "m.h5").exists()


def test_file_label_table_and_folder_table_match_rows_the_same_way(tmp_path):
    # one rule for --labels table.csv and a folder's labels.csv: by file name, else by stem
    from specstate.labels import read_labels_csv

    f = tmp_path / "labels.csv"
    f.write_text("File,Label\n/data/a.xy,bcc\nb,hcp\n")
    names = ["a.xy", "b.xy"]
    assert resolve_labels(str(f), _spectra(2, files=names)).labels.tolist() == ["bcc", "hcp"]
    assert read_labels_csv(f, names).tolist() == ["bcc", "hcp"]
