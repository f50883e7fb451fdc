"""``specstate simulate {xrd-ramp,xes} -o PATH``: write a simulated experiment with its truth.

* ``xrd-ramp``: powder XRD of a diamond-anvil-cell pressure ramp
  (:func:`specstate.datasets.simulate_xrd_ramp`); by default a folder of ``.xy`` files plus
  ``labels.csv``, like the reference data.
* ``xes``: single-shot Fe Kβ emission spectra of a pump-probe experiment
  (:func:`specstate.datasets.simulate_xes`); by default a NeXus file with labels, train and
  pulse ids, the pulse energy as monitor and the true parameters of every shot.

Examples
--------
::

    specstate simulate xrd-ramp -o ramp/
    specstate simulate xrd-ramp -o jump.nxs --variant lattice-jump --seed 3
    specstate simulate xes -o shots.nxs --n 20000
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ..exceptions import SpecstateError, SpectraFileError, SpectraFormatError
from ..io._files import HDF5_SUFFIXES, NPZ_SUFFIXES

HELP = "write a simulated experiment (XRD pressure ramp or XES pump-probe shots) with its truth"

logger = logging.getLogger(__name__)

#: Formats and the suffix they give a path without one ("xy": a folder).
FORMATS = {"xy": "", "nxs": ".nxs", "npz": ".npz"}
_SUFFIX_FORMAT = {**dict.fromkeys(HDF5_SUFFIXES, "nxs"), **dict.fromkeys(NPZ_SUFFIXES, "npz")}
#: Default format of each experiment.
DEFAULT_FORMAT = {"xrd-ramp": "xy", "xes": "nxs"}
#: Default number of spectra of each experiment, and the default transition window of the
#: ramp (pattern indices), scaled when --n changes the length of the run.
DEFAULT_N = {"xrd-ramp": 349, "xes": 20000}
_DEFAULT_WINDOW = (185, 195)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate simulate``."""
    parser.add_argument("experiment", choices=("xrd-ramp", "xes"),
                        help="xrd-ramp: powder XRD of a DAC pressure ramp (bcc -> hcp Fe); "
                             "xes: single-shot Fe K-beta pump-probe spectra")
    parser.add_argument("-o", "--out", required=True, metavar="PATH",
                        help="where to write: a folder (.xy files + labels.csv), or a .nxs / "
                             ".npz file")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed (default 0: the same data every time)")
    parser.add_argument("--n", type=int, metavar="N",
                        help="number of spectra (default: 349 patterns, 20000 shots)")
    parser.add_argument("--points", type=int, metavar="M",
                        help="points per spectrum (default: 4023 for XRD, 300 for XES)")
    parser.add_argument("--format", choices=tuple(FORMATS),
                        help="output format (default: xy folder for xrd-ramp, nxs for xes, "
                             "or what the suffix of --out says)")
    g = parser.add_argument_group("xrd-ramp")
    g.add_argument("--variant", choices=("phase", "lattice-jump"), default="phase",
                   help="phase: bcc -> hcp Fe; lattice-jump: the oxide's volume collapse only")
    g.add_argument("--transition", type=int, nargs=2, metavar=("START", "STOP"),
                   help="pattern window of the change (default 185 195, scaled with --n)")
    g.add_argument("--diamond-spots", type=int, default=0, metavar="K",
                   help="add K unmasked diamond Bragg spots (sharp spikes at fixed 2theta)")
    g = parser.add_argument_group("xes")
    g.add_argument("--excited-fraction", type=float, default=0.3,
                   help="high-spin fraction of pumped shots (default 0.3)")
    g.add_argument("--photons", type=float, default=1500.0,
                   help="mean K-beta photons per shot (default 1500)")


def output_path(out: str, fmt: str | None, experiment: str) -> tuple[Path | str, str]:
    """The path to write and its format, from ``--out`` and ``--format``.

    A path ending in ``/`` is a folder (.xy files); a known suffix (.nxs, .h5, .npz) names the
    format; a bare name gets the experiment's default format (and its suffix).

    Raises
    ------
    SpectraFormatError
        If ``--format`` and ``--out`` disagree, or the suffix is not one simulate writes.
    """
    folder = out.endswith(("/", "\\"))
    suffix = "" if folder else Path(out).suffix.lower()
    by_suffix = _SUFFIX_FORMAT.get(suffix)
    if suffix and by_suffix is None:
        raise SpectraFormatError(
            f"--out '{out}' ends in '{suffix}'; simulate writes a folder of .xy files "
            f"(end the path with '/'), a .nxs/.h5 NeXus file or a .npz archive."
        )
    if fmt is None:
        fmt = by_suffix or ("xy" if folder else DEFAULT_FORMAT[experiment])
    if fmt == "xy":
        if suffix:
            raise SpectraFormatError(
                f"--format xy writes a folder of .xy files, but --out '{out}' names a "
                f"'{suffix}' file."
            )
        return (out if folder else out + "/"), fmt
    if folder or (suffix and by_suffix != fmt):
        raise SpectraFormatError(
            f"--format {fmt} writes one '{FORMATS[fmt]}' file, but --out '{out}' names "
            f"{'a folder' if folder else f'a {suffix!r} file'}."
        )
    path = Path(out)
    return (path if suffix else path.with_suffix(FORMATS[fmt])), fmt


def _window(n: int, transition) -> tuple[int, int]:
    if transition is not None:
        return tuple(transition)
    full = DEFAULT_N["xrd-ramp"]
    start = int(round(_DEFAULT_WINDOW[0] * n / full))
    stop = max(int(round(_DEFAULT_WINDOW[1] * n / full)), start + 1)
    return start, min(stop, n)


def _counts(labels) -> str:
    classes, counts = np.unique(labels, return_counts=True)
    return ", ".join(f"{c} {k}" for c, k in zip(classes, counts))


def run(args: argparse.Namespace) -> int:
    """Simulate, write, and print one summary line."""
    from .. import datasets, io

    n = DEFAULT_N[args.experiment] if args.n is None else args.n
    if n < 1:
        raise SpectraFormatError(f"--n must be a positive number of spectra; got {n}.")
    path, fmt = output_path(args.out, args.format, args.experiment)
    from ._common import check_output_folder

    target = check_output_folder(Path(path).parent, option="--out")  # before simulating
    extra = {} if args.points is None else {"n_points": args.points}
    if args.experiment == "xrd-ramp":
        if n < 2 and args.transition is None:
            raise SpectraFormatError(f"A pressure ramp needs --n >= 2 patterns; got {n}.")
        spectra = datasets.simulate_xrd_ramp(
            n_patterns=n, transition=_window(n, args.transition), variant=args.variant,
            diamond_spots=args.diamond_spots, random_state=args.seed, **extra,
        )
        p = spectra.params["pressure"]
        start, stop = spectra.metadata["transition"]
        detail = (f"{args.variant}, {p[0]:.1f}-{p[-1]:.1f} GPa, transition patterns "
                  f"{start}-{stop - 1}")
        what = "XRD patterns"
    else:
        spectra = datasets.simulate_xes(
            n_shots=n, excited_fraction=args.excited_fraction, photons=args.photons,
            random_state=args.seed, **extra,
        )
        accuracy, _ = datasets.xes_noise_limit(spectra)
        detail = f"photon-noise limit of single-shot accuracy {accuracy:.3f}"
        what = "XES shots"
    target.create_parent()
    try:
        written = io.write(spectra, path)
    except SpecstateError:
        raise
    except OSError as exc:
        raise SpectraFileError(f"Cannot write '{path}': {exc.strerror or exc}.") from exc
    unit = f" {spectra.axis_unit}" if spectra.axis_unit else ""
    print(
        f"wrote {spectra.n_spectra} {what} x {spectra.n_points} points "
        f"({spectra.axis_name} {spectra.axis[0]:g}..{spectra.axis[-1]:g}{unit}; "
        f"{_counts(spectra.labels)}; {detail}) to {written} [{fmt}]"
    )
    return 0
