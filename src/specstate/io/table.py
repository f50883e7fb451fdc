"""Spectra as ``.csv`` tables, in either orientation.

How the orientation is detected (leading ``#`` lines are skipped; the delimiter is a comma,
else a semicolon, else whitespace):

* **One spectrum per row** when the header row holds at least two numbers: those header cells
  are the axis values. Header cells that are not numbers name per-spectrum columns: ``label``
  (or ``labels``, ``state``), ``train_id``, ``pulse_id``, ``monitor``; any other such column
  (e.g. ``file``) is kept in ``metadata['columns']``.
* **One spectrum per column** when the header row holds names only: the first column is the
  axis (its name, e.g. ``2theta`` or pyFAI's ``2th_deg``, gives the axis name and unit) and
  every other column is a spectrum (names in ``metadata['names']``).
* **No header row** (every cell a number): one spectrum per column with the first column as
  the axis if that column is strictly monotonic and there are at least as many rows as
  columns, else one spectrum per row on an index axis.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..exceptions import SpectraFormatError
from ..spectra import Spectra
from . import _units
from ._common import check_axis, name_of
from .text import _decode, _is_number, _read_bytes

logger = logging.getLogger(__name__)

_PER_SPECTRUM_COLUMNS = {
    "label": "labels", "labels": "labels", "state": "labels",
    "train_id": "train_ids", "trainid": "train_ids", "train_ids": "train_ids",
    "pulse_id": "pulse_ids", "pulseid": "pulse_ids", "pulse_ids": "pulse_ids",
    "monitor": "monitor", "pulse_energy": "monitor",
}
#: fewest numeric header cells that make a header row an axis
_MIN_AXIS_CELLS = 2


def _split_rows(text: str):
    lines = [(i, line.strip()) for i, line in enumerate(text.splitlines(), start=1)]
    lines = [(i, line) for i, line in lines if line and not line.startswith("#")]
    if not lines:
        return None, []
    first = lines[0][1]
    delimiter = "," if "," in first else (";" if ";" in first else None)
    rows = [(i, [c.strip() for c in line.split(delimiter)]) for i, line in lines]
    return delimiter, rows


def _numeric(rows, columns, where: str) -> np.ndarray:
    """Float array of `columns` of `rows`, naming the first cell that is not a number."""
    width = len(rows[0][1])
    for i, cells in rows:
        if len(cells) != width:
            raise SpectraFormatError(
                f"Line {i} of {where} has {len(cells)} cells, expected {width}."
            )
    cells = [[cells[j] for j in columns] for _, cells in rows]
    try:
        return np.array(cells, dtype=np.float64).reshape(len(rows), len(columns))
    except ValueError:
        pass
    for (i, _), row in zip(rows, cells):
        for j, cell in zip(columns, row):
            if not _is_number(cell):
                raise SpectraFormatError(
                    f"Line {i} of {where} is not numeric: column {j + 1} holds {cell[:40]!r}."
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def read_csv(path, *, axis_name: str | None = None) -> Spectra:
    """Read a ``.csv`` table of spectra (orientation detected, see the module docstring).

    Parameters
    ----------
    path : str or Path
        The table.
    axis_name : str, optional
        Name of the axis when the table does not say it (or to override it).

    Returns
    -------
    Spectra

    Raises
    ------
    SpectraFormatError
        If the table is empty, has a non-numeric cell where numbers are expected, rows of
        different lengths, or a non-monotonic axis.
    """
    path = Path(path)
    where = f"'{path}'"
    _, rows = _split_rows(_decode(_read_bytes(path)))
    if not rows:
        raise SpectraFormatError(f"{where} is empty: it holds no data lines.")
    header = rows[0][1]
    numeric_header = [_is_number(c) for c in header]
    has_header = not all(numeric_header)
    metadata = {"files": [name_of(path)]}
    if has_header and sum(numeric_header) >= _MIN_AXIS_CELLS:
        return _rows_layout(rows, header, numeric_header, where, axis_name, metadata)
    body = rows[1:] if has_header else rows
    if not body:
        raise SpectraFormatError(f"{where} is empty: it holds a header but no data lines.")
    if has_header:
        table = _numeric(body, range(len(header)), where)
        if table.shape[1] < 2:
            raise SpectraFormatError(
                f"{where} has one column; expected an axis column and at least one spectrum."
            )
        name, unit, axis = _axis_from_title(header[0], table[:, 0], axis_name)
        check_axis(axis, where)
        metadata["names"] = header[1:]
        return Spectra(table[:, 1:].T, axis, axis_name=name, axis_unit=unit, metadata=metadata)
    table = _numeric(body, range(len(header)), where)
    n_rows, n_cols = table.shape
    first = np.diff(table[:, 0])
    by_column = n_cols >= 2 and n_rows >= n_cols and (np.all(first > 0) or np.all(first < 0))
    if by_column:
        name, unit, axis = _axis_from_title(axis_name or "index", table[:, 0], None)
        return Spectra(table[:, 1:].T, axis, axis_name=name, axis_unit=unit, metadata=metadata)
    name, unit, _ = _units.normalise(axis_name or "index", None, table[0, :0])
    return Spectra(table, None, axis_name=name, axis_unit=unit, metadata=metadata)


def _axis_from_title(title: str, values: np.ndarray, axis_name: str | None):
    if axis_name:
        name, unit, _ = _units.normalise(axis_name, None, values[:0])
        return name, unit, values
    token = _units.from_token(title)
    if token:
        name, unit, factor = token
        return name, unit, values * factor
    return _units.normalise(title, None, values)


def _rows_layout(rows, header, numeric_header, where, axis_name, metadata) -> Spectra:
    body = rows[1:]
    if not body:
        raise SpectraFormatError(f"{where} is empty: it holds a header but no data lines.")
    axis_cols = [j for j, is_num in enumerate(numeric_header) if is_num]
    axis = np.array([float(header[j]) for j in axis_cols])
    check_axis(axis, f"the header row of {where}")
    intensity = _numeric(body, axis_cols, where)
    per, extra = {}, {}
    for j, is_num in enumerate(numeric_header):
        if is_num:
            continue
        column = [cells[j] for _, cells in body]
        field = _PER_SPECTRUM_COLUMNS.get(header[j].strip().lower())
        if field == "labels":
            per[field] = np.array(column, dtype=str)
        elif field is not None:
            values = _numeric(body, [j], where)[:, 0]
            per[field] = values.astype(np.int64) if field != "monitor" else values
        else:
            extra[header[j]] = column
    if extra:
        metadata["columns"] = extra
    name, unit, _ = _units.normalise(axis_name or "index", None, axis[:0])
    return Spectra(intensity, axis, axis_name=name, axis_unit=unit, metadata=metadata, **per)
