"""``specstate info PATH``: what a file or folder of spectra holds."""

from __future__ import annotations

import argparse

import numpy as np

from ._common import add_input_arguments, read_kwargs

HELP = ("describe spectra (count, points, dtype, axis, wavelength, labels, ids, non-finite "
        "values) or a model file (states, axis, fit plan, held-out score)")

#: how many file names the summary shows at each end
_SHOWN_FILES = 1


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate info``."""
    parser.add_argument("path", nargs="+",
                        help="file(s), folder, glob or EuXFEL run folder; several files "
                             "(e.g. an unquoted glob) are read as one stack")
    add_input_arguments(parser)


def _range(values: np.ndarray) -> str:
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.integer):  # ids: all digits, never 1e+09
        return f"{int(values.min())} .. {int(values.max())}"
    return f"{values.min():g} .. {values.max():g}"


def describe(spectra, path: str, n_nonfinite: int) -> list[tuple[str, str]]:
    """The (field, value) lines that ``specstate info`` prints for `spectra`."""
    s = spectra
    unit = f" {s.axis_unit}" if s.axis_unit else ""
    step = np.diff(s.axis)
    axis = f"{s.axis_name} {s.axis[0]:g} .. {s.axis[-1]:g}{unit}"
    if step.size:
        uniform = np.allclose(step, step[0], rtol=1e-6, atol=0)
        axis += f" (step {step[0]:.4g}{unit})" if uniform else " (non-uniform steps)"
    rows = [
        ("path", path),
        ("spectra", str(s.n_spectra)),
        ("points", str(s.n_points)),
        ("dtype", str(s.dtype)),
        ("axis", axis),
        ("wavelength", f"{s.wavelength:g} angstrom" if s.wavelength else "unknown"),
    ]
    if s.labels is not None:
        classes, counts = np.unique(s.labels, return_counts=True)
        rows.append(("labels", ", ".join(f"{c} {n}" for c, n in zip(classes, counts))))
    else:
        rows.append(("labels", "none"))
    if s.train_ids is not None:
        rows.append(("train ids", f"{_range(s.train_ids)} ({np.unique(s.train_ids).size} "
                                  "trains)"))
    if s.pulse_ids is not None:
        rows.append(("pulse ids", _range(s.pulse_ids)))
    if s.monitor is not None:
        rows.append(("monitor", _range(np.asarray(s.monitor, dtype=np.float64))))
    if s.params:
        rows.append(("parameters", ", ".join(sorted(s.params))))
    if s.mask is not None:
        rows.append(("masked points", str(int(s.mask.sum()))))
    rows.append(("non-finite", str(n_nonfinite)))
    files = s.metadata.get("files") or []
    if len(files) > 2 * _SHOWN_FILES:
        rows.append(("files", f"{len(files)} ({files[0]} .. {files[-1]})"))
    elif files:
        rows.append(("files", ", ".join(map(str, files))))
    return rows


def _is_model_file(path: str) -> bool:
    from ..io.model_file import is_model_file

    return is_model_file(path)


def describe_model(path: str) -> list[tuple[str, str]]:
    """The (field, value) lines that ``specstate info MODEL`` prints."""
    from ..classifier import SpectraClassifier
    from .fit import plan_lines

    clf = SpectraClassifier.load(path)
    unit = f" {clf.axis_unit_}" if clf.axis_unit_ else ""
    rows = [
        ("model", path),
        ("states", ", ".join(map(str, clf.classes_))),
        ("axis", f"{clf.axis_name_} {clf.axis_[0]:g} .. {clf.axis_[-1]:g}{unit} "
                 f"({clf.axis_.size} points)"),
        ("regions", str(len(clf.regions_))),
    ]
    rows += [("plan", line) for line in plan_lines(clf)]
    for problem in getattr(clf, "quality_", {}).get("problems", []):
        rows.append(("warning", problem))
    return rows


def run(args: argparse.Namespace) -> int:
    """Read the input and print one line per property."""
    from .. import io

    if len(args.path) == 1 and _is_model_file(args.path[0]):
        import warnings

        from ..exceptions import ModelQualityWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelQualityWarning)  # printed as rows below
            rows = describe_model(args.path[0])
        width = max(len(k) for k, _ in rows) + 1
        for key, value in rows:
            print(f"{key + ':':<{width}} {value}")
        return 0

    kwargs = read_kwargs(args)
    # Without an explicit --nonfinite policy, info reports NaN/inf instead of refusing them.
    if kwargs.get("nonfinite", "raise") == "raise":
        kwargs["nonfinite"] = "keep"
    path = args.path[0] if len(args.path) == 1 else args.path
    spectra = io.read(path, **kwargs)
    n_nonfinite = int(np.count_nonzero(~np.isfinite(spectra.intensity)))
    rows = describe(spectra, " ".join(args.path), n_nonfinite)
    dropped = spectra.metadata.get("dropped_nonfinite")
    if dropped:
        rows.append(("dropped", f"{len(dropped)} spectra with non-finite values"))
    width = max(len(k) for k, _ in rows) + 1
    for key, value in rows:
        print(f"{key + ':':<{width}} {value}")
    return 0
