"""``specstate fit``: train a classifier on labelled spectra and save it.

Examples
--------
::

    specstate fit patterns/ --labels 0:100=bcc,250:349=hcp -o model.h5
    specstate fit run.nxs --labels states.csv:phase -o model.h5 --n-regions 15
    specstate fit patterns/ -o model.h5          # labels.csv of the folder / the file's labels
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from ..exceptions import LabelError
from ._common import add_input_arguments, read_input

HELP = "train a classifier on labelled spectra and save it as a model file"

logger = logging.getLogger(__name__)

NETWORKS = ("mlp", "point")


def n_regions_type(text: str):
    """Parse ``--n-regions``: 'auto' or a positive integer."""
    if text == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an integer >= 1, got {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate fit``."""
    parser.add_argument("data", metavar="DATA", nargs="+",
                        help="spectra: a folder or glob of .xy/.dat files, .csv, .npz, .h5/.nxs, "
                             "or an EuXFEL run folder; several files are read as one stack")
    parser.add_argument("--labels", "-l", metavar="LABELS", default=None,
                        help="index ranges '0:100=bcc,250:349=hcp' (unlisted spectra are left "
                             "out), a file with one label per line, FILE:COLUMN of a CSV, or a "
                             "file,label table; default: the labels the data carries")
    parser.add_argument(
        "-o", "--out", "--output", dest="output", metavar="MODEL", required=True, type=Path,
                        help="model file to write (HDF5, e.g. model.h5)")
    parser.add_argument("--n-regions", type=n_regions_type, default="auto", metavar="auto|N",
                        help="regions: found automatically (default) or N equal bins")
    parser.add_argument("--network", choices=NETWORKS, default=None,
                        help="network per region: the default design ('mlp') or the reference "
                             "per-point network ('point')")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_input_arguments(parser)


def make_classifier(args: argparse.Namespace):
    """The :class:`specstate.SpectraClassifier` the options ask for."""
    from ..classifier import SpectraClassifier

    params = {"n_regions": args.n_regions, "random_state": args.seed}
    if args.network is not None:
        params["network"] = args.network
    return SpectraClassifier(**params)


def check_two_states(assignment) -> None:
    """Raise :class:`LabelError` unless the labelled spectra hold at least two states."""
    if len(assignment.classes) < 2:
        raise LabelError(
            f"Fitting needs spectra of at least two states; the labels from "
            f"{assignment.source} give only {assignment.classes!r}."
        )


def fit_labelled(clf, spectra, assignment):
    """Fit `clf` on the labelled spectra of `assignment`; returns the fit time in seconds."""
    check_two_states(assignment)
    train = spectra[assignment.labelled]
    t0 = time.perf_counter()
    clf.fit(train, assignment.training_labels())
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> int:
    """Run ``specstate fit``."""
    from ..labels import resolve_labels
    from ..report.tables import regions_table
    from ._common import check_output

    target = check_output(args.output, ("model",))
    spectra = read_input(args.data[0] if len(args.data) == 1 else args.data, args)
    assignment = resolve_labels(args.labels, spectra)
    check_two_states(assignment)
    counts = ", ".join(f"{k}: {v}" for k, v in assignment.counts().items())
    left_out = len(spectra) - assignment.n_labelled
    print(f"Fitting on {assignment.n_labelled} of {len(spectra)} spectra ({counts}; labels from "
          f"{assignment.source})" + (f"; {left_out} unlabelled left out." if left_out else "."))
    clf = make_classifier(args)
    seconds = fit_labelled(clf, spectra, assignment)
    target.create_parent()
    clf.save(args.output)
    print(regions_table(clf))
    print(f"Fitted {len(clf.regions_)} regions in {seconds:.2f} s; model saved to {args.output}")
    return 0
