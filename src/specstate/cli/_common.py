"""Arguments and helpers shared by several commands (reading input, writing output)."""

from __future__ import annotations

import argparse

#: Axis names the classifier knows how to treat (see specstate.spectra.AXIS_UNITS).
AXIS_NAMES = ("2theta", "q", "d", "energy", "index")


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
        "--axis-dataset", "--axis", metavar="DATASET", dest="axis_path",
        help="HDF5: path of the axis dataset (--axis is the old name)",
    )
    g.add_argument(
        "--axis-name", metavar="NAME", choices=AXIS_NAMES,
        help="what the axis is (" + ", ".join(AXIS_NAMES) + "), for files whose header does "
        "not say it or plain arrays; it decides how peaks shift (strain on 2theta/q/d)",
    )
    g.add_argument("--axis-unit", metavar="UNIT", help="unit of the axis (default: the usual "
                   "unit of --axis-name: deg, 1/A, A, eV)")
    g.add_argument("--wavelength", metavar="ANGSTROM", type=float,
                   help="X-ray wavelength in Å (converts between 2theta, q and d)")
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
    """Read spectra from `path` with the options in `args` (axis options applied)."""
    from .. import io

    return apply_axis_options(io.read(path, **read_kwargs(args)), args)


def apply_axis_options(spectra, args: argparse.Namespace):
    """The spectra with ``--axis-name/--axis-unit/--wavelength`` applied."""
    import dataclasses

    name = getattr(args, "axis_name", None)
    unit = getattr(args, "axis_unit", None)
    wl = getattr(args, "wavelength", None)
    if name is None and unit is None and wl is None:
        return spectra
    from ..spectra import AXIS_UNITS

    changes = {}
    if name is not None:
        changes["axis_name"] = name
        changes["axis_unit"] = unit if unit is not None else AXIS_UNITS.get(name, "")
    elif unit is not None:
        changes["axis_unit"] = unit
    if wl is not None:
        if wl <= 0:
            from ..exceptions import SpectraFormatError

            raise SpectraFormatError(f"--wavelength must be a positive number of Å; got {wl:g}.")
        changes["metadata"] = {**spectra.metadata, "wavelength": float(wl)}
    return dataclasses.replace(spectra, **changes)
