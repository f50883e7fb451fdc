"""The labels table of a folder of spectra: ``labels.csv`` with the columns ``file,label``."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..exceptions import LabelError, SpectraFileError
from . import _schema


def read_labels_csv(path: Path, names: Sequence[str]) -> np.ndarray:
    """Labels of the files `names` from a ``file,label`` table.

    Raises
    ------
    LabelError
        If the table lacks the columns or a file has no label.
    """
    path = Path(path)
    if not path.is_file():
        raise SpectraFileError(f"No such labels file: '{path}'.")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        if not set(_schema.LABELS_FILE_COLUMNS) <= set(fields):
            raise LabelError(
                f"'{path}' must have the columns {','.join(_schema.LABELS_FILE_COLUMNS)}; "
                f"found {','.join(fields) or 'none'}."
            )
        reader.fieldnames = fields
        table = {}
        for row in reader:
            file = (row["file"] or "").strip()
            table[file] = (row["label"] or "").strip()
            table.setdefault(Path(file).name, table[file])
            table.setdefault(Path(file).stem, table[file])
    labels = []
    for name in names:
        label = table.get(name, table.get(Path(name).stem))
        if label is None:
            raise LabelError(f"'{path}' has no label for the file {name}.")
        labels.append(label)
    return label_array(labels)


def label_array(labels: Sequence[str]) -> np.ndarray:
    """Labels read as text: integers if every label is one (``0``/``1``), else strings."""
    try:
        return np.array([int(v) for v in labels], dtype=np.int64)
    except ValueError:
        return np.array(labels, dtype=str)


def write_labels_csv(path: Path, names: Sequence[str], labels) -> None:
    """Write a ``file,label`` table."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(_schema.LABELS_FILE_COLUMNS)
        writer.writerows(zip(names, (str(v) for v in labels)))
