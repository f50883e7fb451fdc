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
import sys
import time
from pathlib import Path

from ..exceptions import LabelError, SpecstateError
from ._common import add_input_arguments, read_input

HELP = "train a classifier on labelled spectra and save it as a model file"

logger = logging.getLogger(__name__)

NETWORKS = ("mlp", "point")


class ModelQualityError(SpecstateError, ValueError):
    """The fitted model cannot tell the states apart and --force was not given."""


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
    parser.add_argument("--normalize", choices=tuple(NORMALIZE), default="auto",
                        help="per-spectrum normalisation: 'auto' (default: the total "
                             "intensity for intensities, none for signed spectra, SNV where "
                             "the held-out references are clearly better with it), 'total', "
                             "'none' or 'snv' (minus its mean, over its standard deviation)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--force", action="store_true",
                        help="write the model even when its held-out check says the states "
                             "cannot be told apart (the model file records it; loading warns)")
    parser.add_argument("--plot", metavar="DIR", type=Path,
                        help="also write the report's panels of the model (references, "
                             "regions) as PNG files into DIR")
    add_input_arguments(parser)


#: ``--normalize`` choices and the classifier's ``normalize`` values they stand for.
NORMALIZE = {"auto": "auto", "total": True, "none": False, "snv": "snv"}


def make_classifier(args: argparse.Namespace):
    """The :class:`specstate.SpectraClassifier` the options ask for."""
    from ..classifier import SpectraClassifier

    params = {"n_regions": args.n_regions, "random_state": args.seed,
              "normalize": NORMALIZE[getattr(args, "normalize", "auto")]}
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


def fit_labelled(clf, spectra, assignment, warn=None):
    """Fit `clf` on the labelled spectra of `assignment`; returns the fit time in seconds.

    Quality warnings are collected and passed to `warn` (one message each) when given.
    """
    import warnings

    from ..exceptions import ModelQualityWarning

    check_two_states(assignment)
    train = spectra[assignment.labelled]
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelQualityWarning)
        clf.fit(train, assignment.training_labels())
    for w in caught:
        if issubclass(w.category, ModelQualityWarning) and warn is not None:
            warn(str(w.message))
        elif not issubclass(w.category, ModelQualityWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return time.perf_counter() - t0


def plan_lines(clf) -> list[str]:
    """The fit plan of a fitted classifier, one line per choice."""
    from ..plan import FitPlan

    plan = getattr(clf, "fit_plan_", None)
    return FitPlan.from_dict(plan).lines() if plan else []


def run(args: argparse.Namespace) -> int:
    """Run ``specstate fit``."""
    from ..labels import resolve_labels
    from ..report.tables import regions_table
    from ._common import check_output, check_output_folder

    target = check_output(args.output, ("model",))
    plot_dir = check_output_folder(args.plot, option="--plot") if args.plot else None
    spectra = read_input(args.data[0] if len(args.data) == 1 else args.data, args)
    assignment = resolve_labels(args.labels, spectra)
    check_two_states(assignment)
    counts = ", ".join(f"{k}: {v}" for k, v in assignment.counts().items())
    left_out = len(spectra) - assignment.n_labelled
    print(f"Fitting on {assignment.n_labelled} of {len(spectra)} spectra ({counts}; labels from "
          f"{assignment.source})" + (f"; {left_out} unlabelled left out." if left_out else "."))
    clf = make_classifier(args)
    seconds = fit_labelled(clf, spectra, assignment,
                           warn=lambda msg: print(f"warning: {msg}", file=sys.stderr))
    print("Fit plan:")
    for line in plan_lines(clf):
        print(f"  {line}")
    if clf.regions_:
        print(regions_table(clf))
    quality = getattr(clf, "quality_", {"separable": True})
    if not quality.get("separable", True):
        if not args.force:
            raise ModelQualityError(
                "The references cannot be told apart ("
                + "; ".join(quality.get("problems", [])) + "), so no model was written to "
                f"{args.output}; check the labels and the data, or pass --force to write it "
                "anyway."
            )
        clf.forced_ = True
        clf.fit_plan_["forced"] = True
    target.create_parent()
    clf.save(args.output)
    score = getattr(clf, "heldout_score_", {}).get("balanced_accuracy", float("nan"))
    print(f"Fitted {len(clf.regions_)} regions + linear member in {seconds:.2f} s "
          f"(held-out balanced accuracy {score:.3f}); model saved to {args.output}")
    if plot_dir is not None:
        from ..report.panels import model_panel
        from ..report.png import save_panels

        plot_dir.create_parent()
        files = save_panels(plot_dir.path, model_panel(clf, str(args.output)))
        print(f"Wrote {', '.join(f.name for f in files)} into {plot_dir.path}")
    return 0
