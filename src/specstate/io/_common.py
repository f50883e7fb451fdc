"""Helpers shared by the readers: axis checks, stacking, non-finite values."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..exceptions import NonFiniteError, SpectraFileError, SpectraFormatError
from ..spectra import Spectra, same_axis

logger = logging.getLogger(__name__)

#: what read() does with NaN/inf ('keep' leaves them, for inspection such as `specstate info`)
NONFINITE_MODES = ("raise", "drop", "mask", "keep")


def name_of(path) -> str:
    """How a file is named in messages and ``metadata['files']`` (its file name)."""
    return Path(path).name


def check_axis(axis: np.ndarray, where: str) -> None:
    """Raise if `axis` is not finite and strictly monotonic, naming `where`."""
    if axis.size == 0:
        raise SpectraFormatError(f"{where} holds no data points.")
    if not np.all(np.isfinite(axis)):
        i = int(np.argmin(np.isfinite(axis)))
        raise SpectraFormatError(
            f"The axis of {where} has a non-finite value ({axis[i]}) at point {i + 1}."
        )
    if axis.size < 2:
        return
    step = np.diff(axis)
    if np.all(step > 0) or np.all(step < 0):
        return
    increasing = np.count_nonzero(step > 0) >= np.count_nonzero(step < 0)
    bad = int(np.argmax(step <= 0)) if increasing else int(np.argmax(step >= 0))
    kind = "duplicated" if step[bad] == 0 else "not monotonic"
    raise SpectraFormatError(
        f"The axis of {where} is {kind} at point {bad + 2} "
        f"(value {axis[bad + 1]:g} after {axis[bad]:g}); expected strictly increasing values."
    )


def common_grid(axes: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """The first axis cropped to the range that every axis covers."""
    lo = max(float(a.min()) for a in axes)
    hi = min(float(a.max()) for a in axes)
    if hi <= lo:
        raise SpectraFormatError(
            f"The axes of {names[0]} and the other files do not overlap "
            f"(common range {lo:g}..{hi:g}), so they cannot be resampled onto one grid."
        )
    first = np.sort(axes[0])
    return first[(first >= lo) & (first <= hi)]


def interp_rows(axis: np.ndarray, intensity: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Linearly interpolate each row of `intensity` (on `axis`) onto `grid`, keeping dtype."""
    order = np.argsort(axis)
    axis, intensity = axis[order], intensity[:, order]
    # Flattened-offset trick: one np.interp call for all rows (rows shifted apart on x).
    n = intensity.shape[0]
    span = float(axis[-1] - axis[0]) + 1.0
    offsets = np.arange(n)[:, None] * span
    out = np.interp((grid[None, :] + offsets).ravel(), (axis[None, :] + offsets).ravel(),
                    intensity.ravel().astype(np.float64))
    return out.reshape(n, grid.size).astype(intensity.dtype, copy=False)


def stack(parts: Sequence[Spectra], names: Sequence[str], *, resample: bool) -> Spectra:
    """Concatenate spectra read from several files into one :class:`Spectra`.

    Parameters
    ----------
    parts : sequence of Spectra
        One per file.
    names : sequence of str
        File names, for messages.
    resample : bool
        If the axes differ, interpolate onto the first file's axis cropped to the common
        range instead of raising.
    """
    first = parts[0]
    for part, name in zip(parts[1:], names[1:]):
        if part.axis_name != first.axis_name and "index" not in (part.axis_name, first.axis_name):
            raise SpectraFormatError(
                f"{name} has a {part.axis_name!r} axis but {names[0]} has a "
                f"{first.axis_name!r} axis; convert them to one axis first."
            )
    differs = [i for i, p in enumerate(parts) if not same_axis(p.axis, first.axis)]
    if differs and not resample:
        i = differs[0]
        p = parts[i]
        raise SpectraFormatError(
            f"{names[i]} has {p.n_points} points ({p.axis[0]:g}..{p.axis[-1]:g}) but "
            f"{names[0]} has {first.n_points} ({first.axis[0]:g}..{first.axis[-1]:g}); "
            "pass resample=True (command line: --resample) to put them on one axis."
        )
    if differs:
        grid = common_grid([p.axis for p in parts], names)
        logger.info("resampling %d files onto %d points %g..%g", len(parts), grid.size,
                    grid[0], grid[-1])
        intensities = [interp_rows(p.axis, p.intensity, grid) for p in parts]
        axis, mask = grid, None
    else:
        intensities = [p.intensity for p in parts]
        axis, mask = first.axis, _merge_masks([p.mask for p in parts])
    dtype = np.result_type(*[x.dtype for x in intensities])
    intensity = np.concatenate(intensities, axis=0).astype(dtype, copy=False)
    per = {}
    for field in ("labels", "train_ids", "pulse_ids", "monitor"):
        values = [getattr(p, field) for p in parts]
        if all(v is not None for v in values):
            per[field] = np.concatenate(values)
        elif any(v is not None for v in values):
            logger.warning("only some files have %s; they are left out", field)
    keys = set.intersection(*(set(p.params) for p in parts)) if parts else set()
    params = {k: np.concatenate([p.params[k] for p in parts]) for k in sorted(keys)}
    metadata = dict(first.metadata)
    files = []
    for part, name in zip(parts, names):
        files.extend(part.metadata.get("files", [name]))
    metadata["files"] = files
    if len(files) == len(parts):  # one file per part: which spectra came from which file
        metadata["file_sizes"] = [p.n_spectra for p in parts]
    return Spectra(intensity, axis, axis_name=first.axis_name, axis_unit=first.axis_unit,
                   mask=mask, params=params, metadata=metadata, **per)


def _merge_masks(masks):
    present = [m for m in masks if m is not None]
    if not present:
        return None
    return np.logical_or.reduce(present)


def handle_nonfinite(spectra: Spectra, mode: str, where: str) -> Spectra:
    """Apply the ``nonfinite`` policy of :func:`specstate.io.read` to freshly read spectra.

    ``'keep'`` leaves them; ``'raise'`` refuses NaN/inf with a message that says how many
    and where; ``'drop'`` removes the spectra that hold any; ``'mask'`` marks the points that
    are non-finite in any spectrum in ``Spectra.mask`` and sets the non-finite values to 0, so
    that arithmetic on the intensities stays finite while later stages ignore those points.
    """
    if mode not in NONFINITE_MODES:
        raise SpectraFormatError(
            f"nonfinite must be one of {NONFINITE_MODES}; got {mode!r}."
        )
    x = spectra.intensity
    if mode == "keep":
        return spectra
    bad = ~np.isfinite(x)
    if not bad.any():
        return spectra
    bad_rows = bad.any(axis=1)
    n_values, n_rows = int(bad.sum()), int(bad_rows.sum())
    files = spectra.metadata.get("files")
    per_file = isinstance(files, list) and len(files) == spectra.n_spectra
    if mode == "raise":
        i = int(np.argmax(bad_rows))
        j = int(np.argmax(bad[i]))
        spot = f"spectrum {i} ({files[i]})" if per_file else f"spectrum {i}"
        unit = f" {spectra.axis_unit}" if spectra.axis_unit else ""
        plural = "s" if n_values != 1 else ""
        raise NonFiniteError(
            f"{where} holds {n_values} non-finite value{plural} (NaN/inf) in {n_rows} of "
            f"{spectra.n_spectra} spectra, the first in {spot} at point {j + 1} "
            f"({spectra.axis_name} = {spectra.axis[j]:g}{unit}); pass "
            "nonfinite='drop' to drop those spectra or nonfinite='mask' to mask those points "
            "(command line: --nonfinite drop|mask)."
        )
    if mode == "drop":
        if n_rows == spectra.n_spectra:
            raise NonFiniteError(
                f"Every spectrum of {where} holds non-finite values, so nonfinite='drop' "
                "leaves nothing; use nonfinite='mask'."
            )
        logger.warning("%s: dropping %d of %d spectra with non-finite values", where, n_rows,
                       spectra.n_spectra)
        keep = ~bad_rows
        out = spectra[keep]
        # results keep the original numbering of the spectra that remain
        before = spectra.params.get("spectrum_index", np.arange(spectra.n_spectra))
        out.params["spectrum_index"] = np.asarray(before)[keep]
        if per_file:
            out.metadata["files"] = [f for f, k in zip(files, keep) if k]
        sizes = spectra.metadata.get("file_sizes")
        if sizes is not None and sum(sizes) == spectra.n_spectra:
            part = np.repeat(np.arange(len(sizes)), sizes)[keep]
            out.metadata["file_sizes"] = np.bincount(part, minlength=len(sizes)).tolist()
        out.metadata["dropped_nonfinite"] = np.flatnonzero(bad_rows).tolist()
        return out
    cols = bad.any(axis=0)
    logger.warning("%s: masking %d points with non-finite values", where, int(cols.sum()))
    intensity = np.where(bad, 0, x).astype(x.dtype, copy=False)
    mask = cols if spectra.mask is None else (spectra.mask | cols)
    return spectra.with_intensity(intensity, mask=mask)


def reason(exc: BaseException) -> str:
    """An exception's message without its final full stop, to embed in a sentence."""
    return str(exc).strip().rstrip(".")


def require_file(path: Path) -> None:
    """Raise :class:`SpectraFileError` if `path` is missing or not a file."""
    if not path.exists():
        raise SpectraFileError(f"No such file or folder: '{path}'.")
    if path.is_dir():
        raise SpectraFileError(f"'{path}' is a folder, expected a file.")
