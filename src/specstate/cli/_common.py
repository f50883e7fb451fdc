"""Arguments and helpers shared by several commands (reading input, writing output)."""

from __future__ import annotations

import argparse


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that say how to read spectra, passed on to :func:`specstate.read`."""
    g = parser.add_argument_group("reading the input")
    g.add_argument(
        "--resample", action="store_true", help="put files with different axes onto one common axis"
    )
    g.add_argument(
        "--nonfinite",
        choices=("raise", "drop", "mask"),
        default="raise",
        help="what to do with NaN/inf values: refuse (default), drop those spectra, "
        "or mask those points",
    )
    g.add_argument(
        "--intensity",
        metavar="DATASET",
        help="HDF5: path of the intensity dataset (default: found through NXdata)",
    )
    g.add_argument(
        "--axis", metavar="DATASET", dest="axis_path", help="HDF5: path of the axis dataset"
    )
    g.add_argument("--source", help="EuXFEL run: source name of the spectrometer")
    g.add_argument("--key", help="EuXFEL run: key of the spectrum in --source")
    g.add_argument(
        "--monitor",
        metavar="SOURCE:KEY",
        help="per-spectrum monitor: SOURCE:KEY in a run, or an HDF5 dataset path",
    )
    g.add_argument(
        "--trains", metavar="SLICE", help="EuXFEL run: train selection, e.g. '0:100' (by index)"
    )


def read_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments for :func:`specstate.read` from the parsed input options."""
    kwargs = {
        "resample": args.resample,
        "nonfinite": args.nonfinite,
        "intensity": args.intensity,
        "axis": args.axis_path,
        "source": args.source,
        "key": args.key,
        "monitor": args.monitor,
        "trains": args.trains,
    }
    return {k: v for k, v in kwargs.items() if v not in (None, False)}


def read_input(path, args: argparse.Namespace):
    """Read spectra from `path` with the options in `args`."""
    from .. import io

    return io.read(path, **read_kwargs(args))
