"""Arguments and helpers shared by several commands (reading input, writing output)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

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


# ----------------------------------------------------------------------------- output files
#: the kinds of output files, as messages name them (their suffixes: io._files)
OUTPUT_KINDS = {
    "results": "results as NeXus or CSV",
    "model": "the model as HDF5",
    "plot": "the live view as PNG or HTML",
    "report": "the report as HTML",
}


def _kind_suffixes(kind: str) -> tuple[str, ...]:
    from ..io import _files

    return {"results": _files.RESULT_SUFFIXES, "model": _files.MODEL_SUFFIXES,
            "plot": _files.PLOT_SUFFIXES, "report": (".html", ".htm")}[kind]


@dataclass
class Output:
    """An output path checked before any work, and the folders it still needs.

    Attributes
    ----------
    path : pathlib.Path
        The output.
    missing : list of pathlib.Path
        Folders that do not exist yet (outermost first).
    is_folder : bool
        The output is a folder (created itself by :meth:`create_parent`).
    """

    path: Path
    missing: list = field(default_factory=list)
    is_folder: bool = False

    def create_parent(self) -> None:
        """Create the missing parent folders, and say so on stderr."""
        if not self.missing:
            return
        folder = self.path if self.is_folder else self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        print(f"created the folder {self.missing[0]}", file=sys.stderr)
        self.missing = []


def _writable_ancestor(folder: Path, option: str, shown: Path) -> list[Path]:
    """The folders up to `folder` that are missing; raise if the nearest existing one is unusable.

    `shown` is the output as the user named it, for messages.
    """
    from ..exceptions import SpectraFileError

    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise SpectraFileError(
            f"{option} '{shown}' cannot be written: '{folder}' is a file, not a folder."
        )
    try:  # the one sure test, root or not, read-only mounts included
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise SpectraFileError(
            f"{option} '{shown}' cannot be written: the folder '{folder}' is not writable "
            f"({exc.strerror or exc})."
        ) from None
    return list(reversed(missing))


def check_output(path, kinds: tuple[str, ...], *, option: str = "-o") -> Output:
    """Check an output file before any work: its suffix, and that its folder can be written.

    Parameters
    ----------
    path : str or path-like
        The output file.
    kinds : tuple of str
        Keys of :data:`OUTPUT_KINDS` whose suffixes are accepted.
    option : str
        The option that named it, for messages.

    Returns
    -------
    Output
        Call :meth:`Output.create_parent` right before writing.

    Raises
    ------
    SpectraFileError
        If the suffix names another format, or the folder cannot be written.
    """
    from ..exceptions import SpectraFileError
    from ..io._files import FOREIGN_SUFFIXES

    path = Path(path)
    allowed = tuple(s for k in kinds for s in _kind_suffixes(k))
    suffix = path.suffix.lower()
    if suffix not in allowed:
        names = FOREIGN_SUFFIXES.get(suffix)
        said = f"names {names} file" if names else (
            f"has the suffix '{suffix}'" if suffix else "has no suffix")
        raise SpectraFileError(
            f"{option} '{path}' {said}, but specstate writes {OUTPUT_KINDS[kinds[0]]}: use a "
            f"name ending in {', '.join(allowed)}."
        )
    missing = _writable_ancestor(path.parent, option, path)
    return Output(path, missing)


def check_output_folder(path, *, option: str = "-o") -> Output:
    """Check an output folder before any work (created later by :meth:`Output.create_parent`).

    Raises
    ------
    SpectraFileError
        If `path` is a file or its nearest existing folder cannot be written.
    """
    from ..exceptions import SpectraFileError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SpectraFileError(f"{option} '{path}' is a file; expected a folder.")
    return Output(path, _writable_ancestor(path, option, path), is_folder=True)


def require(module: str, extra: str, what: str) -> None:
    """Raise a one-sentence error when an optional dependency `what` needs is missing."""
    import importlib.util

    from ..exceptions import SpecstateError

    if importlib.util.find_spec(module) is None:
        raise SpecstateError(f"{what} needs {module}, which is not installed; install it with "
                             f"pip install 'specstate[{extra}]'.")
