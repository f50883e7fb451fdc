"""Labels for training: index ranges, label files, CSV columns, or the labels the data carries.

The command line accepts labels in several spellings; :func:`resolve_labels` turns any of
them into one :class:`LabelAssignment` (a label per spectrum, or none), which the ``fit``
command and others share.

Spellings
---------
``0:100=bcc,250:349=hcp``
    Index ranges with Python slice semantics (``0:100`` is spectra 0..99; ``:100``, ``250:``,
    negative indices and single indices ``7=bcc`` work too). Spectra no range covers are
    unlabelled and left out of fitting; overlapping ranges are an error.
``labels.txt``
    A text file with one label per line, one line per spectrum (empty line or ``-``:
    unlabelled).
``table.csv:state``
    The column ``state`` of a CSV file with a header row, one row per spectrum.
``labels.csv``
    A CSV with columns ``file,label`` as the ``.xy`` folder writer stores it: rows are matched
    to the spectra by file name, else by stem (``metadata['files']``; :func:`label_of`), or
    by order when the data has no file names. A folder's own ``labels.csv`` is read by
    :func:`specstate.read` with the same rule (:func:`read_labels_csv`).
``None`` (no option)
    The labels the data itself carries (:attr:`specstate.Spectra.labels`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .exceptions import LabelError

__all__ = ["LabelAssignment", "parse_label_ranges", "read_label_file", "resolve_labels",
           "label_of", "read_labels_csv", "write_labels_csv", "label_array"]

# Text values that mean "this spectrum has no label" in files and in the data.
UNLABELLED_TOKENS = frozenset({"", "-", "nan", "none", "null", "na", "n/a"})

# One item of a range specification: "START:STOP=LABEL" or "INDEX=LABEL".
_RANGE_ITEM = re.compile(
    r"^\s*(?P<start>-?\d*)\s*(?P<colon>:)?\s*(?P<stop>-?\d*)\s*=(?P<label>.*)$"
)

_INTEGER = re.compile(r"^[+-]?\d+$")

# Column names of the file/label table the .xy folder writer stores.
FILE_COLUMN = "file"
LABEL_COLUMN = "label"


@dataclass(frozen=True)
class LabelAssignment:
    """A label for some or all spectra of a data set.

    Attributes
    ----------
    labels : numpy.ndarray of shape (n_spectra,)
        The label of each spectrum (object array); ``None`` where unlabelled.
    labelled : numpy.ndarray of bool, shape (n_spectra,)
        True where the spectrum has a label.
    source : str
        Where the labels came from, for messages (``"ranges 0:100=bcc,..."``, a file name,
        ``"the data"``).
    """

    labels: np.ndarray
    labelled: np.ndarray
    source: str

    @property
    def n_labelled(self) -> int:
        """Number of labelled spectra."""
        return int(self.labelled.sum())

    @property
    def classes(self) -> list:
        """The distinct labels, sorted."""
        return sorted(set(self.labels[self.labelled].tolist()), key=str)

    def counts(self) -> dict:
        """Number of spectra per label."""
        values, counts = np.unique(self.labels[self.labelled].astype(str), return_counts=True)
        return dict(zip(values.tolist(), counts.tolist()))

    def training_labels(self) -> np.ndarray:
        """The labels of the labelled spectra only, as a plain numpy array."""
        return np.asarray(self.labels[self.labelled].tolist())


def _is_unlabelled(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in UNLABELLED_TOKENS


def _as_ints_if_all_integers(values: list) -> list:
    # Text labels that are all integers ("0", "1") become ints, as the readers return them.
    present = [v for v in values if isinstance(v, str)]
    if present and all(_INTEGER.match(v) for v in present):
        return [int(v) if isinstance(v, str) else v for v in values]
    return values


def _assignment(values, source: str, *, text: bool = True) -> LabelAssignment:
    values = [None if _is_unlabelled(v) else v for v in values]
    if text:
        values = _as_ints_if_all_integers(values)
    labels = np.empty(len(values), dtype=object)
    labels[:] = values
    labelled = np.array([v is not None for v in labels], dtype=bool)
    return LabelAssignment(labels, labelled, source)


def parse_label_ranges(text: str, n_spectra: int) -> LabelAssignment:
    """Parse index ranges such as ``"0:100=bcc,250:349=hcp"``.

    Parameters
    ----------
    text : str
        Comma-separated items ``START:STOP=LABEL`` (Python slice semantics, either end may be
        left out, negative values count from the end) or ``INDEX=LABEL``.
    n_spectra : int
        Number of spectra the ranges refer to.

    Returns
    -------
    LabelAssignment
        Spectra no range covers are unlabelled.

    Raises
    ------
    LabelError
        If an item is malformed, a range is empty or reaches past the spectra, or two ranges
        overlap.

    Examples
    --------
    >>> a = parse_label_ranges("0:2=bcc,-2:=hcp", 6)
    >>> a.labels.tolist()
    ['bcc', 'bcc', None, None, 'hcp', 'hcp']
    """
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise LabelError(f"Expected label ranges like '0:100=bcc,250:349=hcp'; got {text!r}.")
    labels = np.full(n_spectra, None, dtype=object)
    owner = np.full(n_spectra, -1, dtype=np.intp)  # which item labelled each spectrum
    for k, item in enumerate(items):
        match = _RANGE_ITEM.match(item)
        label = match.group("label").strip() if match else ""
        if match is None or not label:
            raise LabelError(
                f"Expected a label range like 'START:STOP=LABEL' or 'INDEX=LABEL'; "
                f"got {item.strip()!r} in {text!r}."
            )
        start, stop = match.group("start"), match.group("stop")
        if match.group("colon"):
            for end in (start, stop):
                # Python's slices cut silently; a range past the data is a mistake to report
                if end and not -n_spectra <= int(end) <= n_spectra:
                    raise LabelError(
                        f"The label range {item.strip()!r} reaches spectrum {end}, but the "
                        f"data has {n_spectra} spectra (0..{n_spectra - 1}; ranges may end "
                        f"at {n_spectra})."
                    )
            sl = slice(int(start) if start else None, int(stop) if stop else None)
        else:
            if not start:
                raise LabelError(f"The label range {item.strip()!r} has no index before '='.")
            index = int(start)
            if not -n_spectra <= index < n_spectra:
                raise LabelError(
                    f"The label index {index} in {item.strip()!r} is outside the "
                    f"{n_spectra} spectra."
                )
            sl = slice(index % n_spectra, index % n_spectra + 1)
        indices = np.arange(n_spectra)[sl]
        if indices.size == 0:
            raise LabelError(
                f"The label range {item.strip()!r} selects no spectrum of the {n_spectra}."
            )
        clash = owner[indices] >= 0
        if clash.any():
            other = items[owner[indices][clash][0]].strip()
            raise LabelError(
                f"The label ranges {other!r} and {item.strip()!r} overlap at spectrum "
                f"{int(indices[clash][0])}; each spectrum may have one label."
            )
        owner[indices] = k
        labels[indices] = label
    labels[:] = _as_ints_if_all_integers(labels.tolist())
    return LabelAssignment(labels, owner >= 0, f"ranges {text}")


def _read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise LabelError(f"The label file {path} is empty.")
    header = [cell.strip() for cell in rows[0]]
    header = [h.lower() if h.lower() in (FILE_COLUMN, LABEL_COLUMN) else h for h in header]
    return header, [[cell.strip() for cell in row] for row in rows[1:]]


def _file_table(path: Path, header, rows, label_column: str) -> dict:
    """``file -> label`` of a table, keyed by the file's name and its stem."""
    i_file, i_label = header.index(FILE_COLUMN), header.index(label_column)
    table: dict = {}
    for line, row in enumerate(rows, start=2):
        if len(row) <= max(i_file, i_label):
            raise LabelError(
                f"Line {line} of {path} has {len(row)} columns; expected {len(header)}."
            )
        name = Path(row[i_file]).name
        table[name] = row[i_label]
        table.setdefault(Path(name).stem, row[i_label])
    return table


def label_of(table: dict, file) -> str | None:
    """The label of `file` in a ``file,label`` table: by file name, else by stem.

    The one matching rule, for ``--labels table.csv`` and for the ``labels.csv`` of a folder
    alike (``scan_1.xy`` matches a row ``scan_1.xy``, ``/data/scan_1.xy`` or ``scan_1``).
    """
    name = Path(str(file)).name
    label = table.get(name)
    return table.get(Path(name).stem) if label is None else label


def _match_files(path: Path, header, rows, n_spectra: int, files,
                 label_column: str = LABEL_COLUMN) -> LabelAssignment:
    source = str(path) if label_column == LABEL_COLUMN else f"{path}:{label_column}"
    table = _file_table(path, header, rows, label_column)
    if files is None:
        if len(rows) != n_spectra:
            raise LabelError(
                f"The label file {path} has {len(rows)} rows but the data has {n_spectra} "
                "spectra and no file names to match them by."
            )
        i_label = header.index(label_column)
        return _assignment([row[i_label] for row in rows], source)
    values = [label_of(table, f) for f in files]
    if all(v is None for v in values):
        raise LabelError(
            f"None of the data's files (e.g. {Path(str(files[0])).name!r}) is listed in the "
            f"'{FILE_COLUMN}' column of {path}."
        )
    return _assignment(values, source)


def read_label_file(
    path, n_spectra: int, *, column: str | None = None, files=None
) -> LabelAssignment:
    """Read labels from a file.

    Parameters
    ----------
    path : str or path-like
        A text file with one label per line, or a CSV file with a header row.
    n_spectra : int
        Number of spectra the labels are for.
    column : str, optional
        Column of a CSV file that holds the labels (rows matched to the spectra by file name
        when the CSV has a ``file`` column and `files` are known, else by order). Without
        it, a CSV with columns ``file`` and ``label`` is matched by file name, and any other
        file is read as one label per line.
    files : sequence of str, optional
        The file each spectrum came from (``Spectra.metadata['files']``), to match a
        ``file,label`` table.

    Returns
    -------
    LabelAssignment

    Raises
    ------
    LabelError
        If the file is empty, the column is missing, or the number of labels does not match
        the number of spectra.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"The label file {path} does not exist.")
    if column is not None:
        header, rows = _read_csv_rows(path)
        if column not in header:
            raise LabelError(
                f"The label file {path} has no column {column!r}; it has {', '.join(header)}."
            )
        if FILE_COLUMN in header and files is not None and column != FILE_COLUMN:
            return _match_files(path, header, rows, n_spectra, files, label_column=column)
        i = header.index(column)
        values = [row[i] if i < len(row) else "" for row in rows]
        if len(values) != n_spectra:
            raise LabelError(
                f"Column {column!r} of {path} has {len(values)} labels but the data has "
                f"{n_spectra} spectra."
            )
        return _assignment(values, f"{path}:{column}")
    with path.open(encoding="utf-8") as fh:
        first = fh.readline()
    header = [cell.strip().lower() for cell in next(csv.reader([first]), [])]
    if FILE_COLUMN in header and LABEL_COLUMN in header:
        header, rows = _read_csv_rows(path)
        return _match_files(path, header, rows, n_spectra, files)
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():  # a trailing newline is not a spectrum
        lines.pop()
    if len(lines) != n_spectra:
        raise LabelError(
            f"The label file {path} has {len(lines)} lines but the data has {n_spectra} "
            "spectra; expected one label per line."
        )
    return _assignment([line.strip() for line in lines], str(path))


def _split_file_column(spec: str) -> tuple[Path, str] | None:
    # "FILE:COLUMN" where FILE exists (a Windows drive letter "C:..." is a path, not a column).
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail and Path(head).is_file() and not Path(spec).exists():
        return Path(head), tail
    return None


def resolve_labels(spec: str | None, spectra) -> LabelAssignment:
    """Labels for `spectra` from any accepted spelling (see the module documentation).

    Parameters
    ----------
    spec : str or None
        Index ranges, a file, ``FILE:COLUMN``, or None for the labels the data carries.
    spectra : Spectra
        The spectra the labels are for.

    Returns
    -------
    LabelAssignment

    Raises
    ------
    LabelError
        If nothing can be made of `spec`, or no spectrum ends up labelled.

    Examples
    --------
    >>> import numpy as np
    >>> from specstate import Spectra
    >>> s = Spectra(np.zeros((5, 3)))
    >>> resolve_labels("0:2=a,3:=b", s).counts()
    {'a': 2, 'b': 2}
    """
    n = spectra.n_spectra
    files = spectra.metadata.get("files")
    if files is not None and len(files) != n:
        files = None
    if spec is None:
        if spectra.labels is None:
            raise LabelError(
                "The data carries no labels; give them with --labels, e.g. "
                "'0:100=bcc,250:349=hcp' or a file with one label per line."
            )
        assignment = _assignment(spectra.labels.tolist(), "the data", text=False)
    elif Path(spec).is_file():
        assignment = read_label_file(spec, n, files=files)
    elif (file_column := _split_file_column(spec)) is not None:
        assignment = read_label_file(file_column[0], n, column=file_column[1], files=files)
    elif "=" in spec:
        assignment = parse_label_ranges(spec, n)
    else:
        raise LabelError(
            f"Expected labels as index ranges ('0:100=bcc,250:349=hcp'), a file, or "
            f"FILE:COLUMN; got {spec!r}, which is neither an existing file nor a range."
        )
    if assignment.n_labelled == 0:
        raise LabelError(f"No spectrum has a label (labels from {assignment.source}).")
    return assignment


# ----------------------------------------------------------------------------- folder tables
def label_array(labels: Sequence[str]) -> np.ndarray:
    """Labels read as text: integers if every label is one (``0``/``1``), else strings."""
    values = [str(v) for v in labels]
    if values and all(_INTEGER.match(v) for v in values):
        return np.array([int(v) for v in values], dtype=np.int64)
    return np.array(values, dtype=str)


def read_labels_csv(path, names: Sequence[str]) -> np.ndarray:
    """Labels of the files `names` from a ``file,label`` table (a folder's ``labels.csv``).

    Rows are matched to the files by :func:`label_of`, as for ``--labels table.csv``; here
    every file must have a label.

    Parameters
    ----------
    path : path-like
        The table.
    names : sequence of str
        The files read, in order.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    SpectraFileError
        If the table does not exist.
    LabelError
        If the table lacks the columns or a file has no label.
    """
    from .exceptions import SpectraFileError

    path = Path(path)
    if not path.is_file():
        raise SpectraFileError(f"No such labels file: '{path}'.")
    header, rows = _read_csv_rows(path)
    if not {FILE_COLUMN, LABEL_COLUMN} <= set(header):
        raise LabelError(
            f"'{path}' must have the columns {FILE_COLUMN},{LABEL_COLUMN}; "
            f"found {','.join(header) or 'none'}."
        )
    table = _file_table(path, header, rows, LABEL_COLUMN)
    labels = []
    for name in names:
        label = label_of(table, name)
        if label is None:
            raise LabelError(f"'{path}' has no label for the file {name}.")
        labels.append(label)
    return label_array(labels)


def write_labels_csv(path, names: Sequence[str], labels) -> None:
    """Write a ``file,label`` table (into a folder being written atomically)."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow((FILE_COLUMN, LABEL_COLUMN))
        writer.writerows(zip(names, (str(v) for v in labels)))
