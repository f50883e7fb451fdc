"""Two-column text spectra (``.xy``, ``.dat``, ``.txt``) as pyFAI and most integrators write.

One spectrum per file: ``#`` header lines (pyFAI's, with ``# Wavelength: 4.1e-11`` in metres
and a final ``#  2th_deg  I`` column title), then the axis value and the intensity on each
line, separated by whitespace or commas (further columns, e.g. pyFAI's sigma, are ignored).
A single non-numeric column-title line (``2theta intensity``) before the data is skipped.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._version import __version__
from ..exceptions import SpectraFileError, SpectraFormatError
from ..labels import label_array, write_labels_csv
from ..spectra import Spectra, axis_tolerance
from . import _files, _schema, _units
from ._common import check_axis, name_of, reason, stack
from ._files import atomic_write

logger = logging.getLogger(__name__)

#: from this many bytes on, files are parsed in one batch by pandas' C parser (below, its
#: import time costs more than it saves)
BATCH_MIN_BYTES = 4_000_000
#: text encodings tried in turn (latin-1 decodes any byte, so reading never fails on it)
_ENCODINGS = ("utf-8", "latin-1")
_ANGSTROM_PER_METRE = 1e10
#: header keys written and read back for per-spectrum values
_HEADER_KEYS = {"train id": "train_ids", "pulse id": "pulse_ids", "monitor": "monitor",
                "label": "labels"}


class _Parsed:
    """Axis, intensity and header of one text file."""

    __slots__ = ("axis", "y", "header")

    def __init__(self, axis, y, header):
        self.axis, self.y, self.header = axis, y, header


def _decode(raw: bytes) -> str:
    for encoding in _ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _split_header(text: str):
    """(header lines, body, number of lines before the body).

    The header is the leading ``#`` and blank lines plus at most one column-title line
    (a line in which no word is a number).
    """
    header = []
    pos = 0
    n_lines = 0
    titled = False
    while True:
        end = text.find("\n", pos)
        if end < 0:
            break
        stripped = text[pos:end].strip()
        if stripped and not stripped.startswith("#"):
            words = stripped.replace(",", " ").split()
            if titled or any(_is_number(w) for w in words):
                break
            titled = True
        if stripped:
            header.append(stripped)
        n_lines += 1
        pos = end + 1
    return header, text[pos:], n_lines


def _parse_slow(body: str, n_before: int, where: str, n_cols: int) -> np.ndarray:
    """Line-by-line parse that names the first bad line (used only when the fast path fails)."""
    rows = []
    for i, line in enumerate(body.splitlines(), start=n_before + 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        words = stripped.replace(",", " ").split()
        if len(words) != n_cols:
            raise SpectraFormatError(
                f"Line {i} of {where} has {len(words)} columns, expected {n_cols} like the "
                f"first data line: {stripped[:60]!r}."
            )
        try:
            rows.append([float(w) for w in words])
        except ValueError:
            raise SpectraFormatError(
                f"Line {i} of {where} is not numeric: {stripped[:60]!r}."
            ) from None
    return np.array(rows, dtype=np.float64).reshape(-1, n_cols)


def _first_data_words(body: str) -> list[str]:
    for line in body.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.replace(",", " ").split()
    return []


def parse_text(raw: bytes, where: str) -> _Parsed:
    """Parse the bytes of one two-column text file (fast path: one split, one conversion)."""
    text = _decode(raw)
    header, body, n_before = _split_header(text)
    first = _first_data_words(body)
    if not first:
        raise SpectraFormatError(f"{where} is empty: it holds no data lines.")
    n_cols = len(first)
    if n_cols < 2:
        raise SpectraFormatError(
            f"{where} has {n_cols} column, expected two (axis and intensity)."
        )
    if "," in body:
        body = body.replace(",", " ")
    table = None
    if "#" not in body:
        lines = body.splitlines()
        n_rows = len(lines) - lines.count("")
        words = body.split()
        if len(words) == n_rows * n_cols:
            try:
                table = np.array(words, dtype=np.float64).reshape(n_rows, n_cols)
            except ValueError:
                table = None
    if table is None:
        table = _parse_slow(body, n_before, where, n_cols)
    if table.shape[0] == 0:
        raise SpectraFormatError(f"{where} is empty: it holds no data lines.")
    if n_cols > 2:
        logger.debug("%s: %d columns, using the first two", where, n_cols)
    return _Parsed(table[:, 0].copy(), table[:, 1].copy(), header)


def _parse_batch(raws: Sequence[bytes]) -> list[_Parsed] | None:
    """Parse many ASCII files with one call of pandas' C parser, or None to use the exact path.

    The bodies are joined and parsed at once (several times faster than a conversion per
    file); values agree with Python's ``float`` to within one unit in the last place. Anything
    unusual (non-ASCII, comments or blank lines inside the data, ragged lines, non-numeric
    text, NaN) returns None and the careful per-file parser gives the exact values or the
    exact error message.
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with xarray
        return None
    headers, bodies, rows = [], [], []
    for raw in raws:
        if not raw.isascii():
            return None
        text = raw.decode("ascii")
        header, body, _ = _split_header(text)
        data = raw[len(text) - len(body):]
        if b"#" in data:
            return None
        if b"," in data:
            data = data.replace(b",", b" ")
        if not data.endswith(b"\n"):
            data += b"\n"
        # data lines = line ends minus empty lines; any miscount falls back below
        rows.append(data.count(b"\n") - data.count(b"\n\n"))
        headers.append(header)
        bodies.append(data)
    try:
        table = pd.read_csv(io.BytesIO(b"".join(bodies)), sep=r"\s+", header=None,
                            dtype=np.float64, engine="c").to_numpy()
    except Exception:  # noqa: BLE001 - any parser complaint: the exact path reports it
        return None
    if table.ndim != 2 or table.shape[0] != sum(rows) or table.shape[1] < 2 or \
            np.isnan(table).any() or min(rows) == 0:
        return None
    edges = np.cumsum(rows)[:-1]
    return [_Parsed(t[:, 0], t[:, 1], h) for t, h in zip(np.split(table, edges), headers)]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SpectraFileError(f"No such file: '{path}'.") from None
    except IsADirectoryError:
        raise SpectraFileError(f"'{path}' is a folder, expected a text file.") from None
    except OSError as exc:
        raise SpectraFileError(f"Cannot read '{path}': {reason(exc.strerror or exc)}.") from None


def _header_values(header: list[str]) -> dict:
    out = {}
    for line in header:
        key, sep, value = line.lstrip("#").partition(":")
        field = _HEADER_KEYS.get(key.strip().lower())
        if sep and field == "labels":
            out[field] = value.strip()
        elif sep and field:
            try:
                out[field] = float(value)
            except ValueError:
                continue
    return out


def _warn_unread_header(header: list[str], axis, wavelength, path: Path,
                        axis_name: str | None) -> None:
    """Warn when a header is there but names no axis, or names a wavelength not understood.

    A file without a header (or an axis named by the caller) is not warned about: the axis is
    then knowingly the point index.
    """
    if header and axis is None and not axis_name:
        logger.warning(
            "%s has a header (%r...) that names no axis specstate knows, so the axis is "
            "'index' (point numbers) and results can differ from those on a physical axis; "
            "title the columns e.g. '# columns: 2theta_deg intensity' (also q_A^-1, d_A, "
            "energy_eV, 2th_deg, ...; see the README) or pass axis_name=...",
            path, header[0][:60])
    line = _units.mentions_wavelength(header)
    if line is not None and wavelength is None:
        logger.warning(
            "%s names a wavelength in %r but specstate cannot read its value; write it as "
            "'# wavelength: 0.4133 A' (or metres, nm) or pass the wavelength yourself",
            path, line[:60])


def read_text_files(paths: Sequence[Path], *, resample: bool = False,
                    axis_name: str | None = None) -> Spectra:
    """Read one or more two-column text files into one :class:`Spectra`.

    Parameters
    ----------
    paths : sequence of Path
        The files, in the order wanted.
    resample : bool, default=False
        Interpolate files on other axes onto the first file's axis (cropped to the common
        range) instead of raising.
    axis_name : str, optional
        Name of the axis when the header does not say it.

    Returns
    -------
    Spectra
        ``metadata['files']`` lists the file names, ``metadata['wavelength']`` the wavelength
        (Å) of the first header that has one.

    Raises
    ------
    SpectraFileError
        If a file is missing or unreadable.
    SpectraFormatError
        If a file is empty, has a non-numeric line, a non-monotonic axis, or (without
        `resample`) another axis than the first file.
    """
    paths = [Path(p) for p in paths]
    names = [name_of(p) for p in paths]
    raws = [_read_bytes(p) for p in paths]
    parsed = None
    if sum(len(r) for r in raws) >= BATCH_MIN_BYTES:
        parsed = _parse_batch(raws)
    if parsed is None:
        parsed = [parse_text(raw, f"'{p}'") for raw, p in zip(raws, paths)]
    first = parsed[0]
    check_axis(first.axis, f"'{paths[0]}'")
    found = _units.header_axis(first.header)
    if axis_name or not found:
        # the caller's name wins; without one and without a header the axis is an index
        name, unit, _ = _units.normalise(axis_name or "index", None, first.axis[:0])
        factor = 1.0
    else:
        name, unit, factor = found
    wavelength = _units.header_wavelength(first.header)
    _warn_unread_header(first.header, found, wavelength, paths[0], axis_name)
    extra = [_header_values(p.header) for p in parsed]
    lengths = np.array([p.axis.size for p in parsed])
    metadata = {"files": names}
    if wavelength is not None:
        metadata["wavelength"] = wavelength
    per = {}
    for field in ("labels", "train_ids", "pulse_ids", "monitor"):
        if all(field in e for e in extra):
            if field == "labels":
                per[field] = label_array([e[field] for e in extra])
                continue
            values = np.array([e[field] for e in extra])
            per[field] = values.astype(np.int64) if field in ("train_ids", "pulse_ids") \
                else values
    if np.all(lengths == lengths[0]):
        axes = np.stack([p.axis for p in parsed])
        if np.all(np.abs(axes - first.axis) <= axis_tolerance(first.axis)):
            # the fast, common case: one axis for all files, stacked in one go
            intensity = np.stack([p.y for p in parsed])
            axis = first.axis * factor
            return Spectra(intensity, axis, axis_name=name, axis_unit=unit, metadata=metadata,
                           **per)
    parts = []
    for p, path, e in zip(parsed, paths, extra):
        check_axis(p.axis, f"'{path}'")
        kw = {f: np.array([e[f]]) for f in per}
        parts.append(Spectra(p.y[None, :], p.axis * factor, axis_name=name,
                             axis_unit=unit, metadata={"files": [name_of(path)]}, **kw))
    out = stack(parts, [f"'{p}'" for p in paths], resample=resample)
    if wavelength is not None:
        out.metadata["wavelength"] = wavelength
    return out


# ---------------------------------------------------------------------- writing
def _format(values: np.ndarray) -> list[str]:
    # float32 needs 9 significant digits to round-trip, float64 repr's shortest form
    if values.dtype == np.float32:
        return [f"{v:.9g}" for v in values.tolist()]
    return list(map(repr, values.astype(np.float64).tolist()))


def write_text_folder(spectra: Spectra, folder: Path, *, stem: str | None = None) -> list[Path]:
    """Write one ``<stem>_0001.xy`` file per spectrum plus ``labels.csv`` into `folder`.

    The folder is written under a temporary name and renamed at the end. An existing folder
    is replaced only if it holds nothing but text spectra and a labels table.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise SpectraFileError(f"'{folder}' exists and is not a folder.")
        foreign = [p.name for p in folder.iterdir()
                   if p.suffix.lower() not in _files.TEXT_SUFFIXES
                   and p.name != _schema.LABELS_FILE]
        if foreign:
            raise SpectraFileError(
                f"'{folder}' exists and holds other files ({', '.join(sorted(foreign)[:3])}); "
                "choose a new or empty folder."
            )
    stem = stem or folder.name or "spectrum"
    width = max(4, len(str(spectra.n_spectra)))
    names = [f"{stem}_{i:0{width}d}.xy" for i in range(1, spectra.n_spectra + 1)]
    writer = _TextWriter(spectra)
    with atomic_write(folder, directory=True) as tmp:
        for i, name in enumerate(names):
            (tmp / name).write_text(writer.text(i), encoding="utf-8")
        if spectra.labels is not None:
            write_labels_csv(tmp / _schema.LABELS_FILE, names, spectra.labels)
    return [folder / n for n in names]


def write_text_file(spectra: Spectra, path) -> Path:
    """Write a single spectrum as a two-column text file with a pyFAI-like header."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(_TextWriter(spectra).text(0), encoding="utf-8")
    return path


class _TextWriter:
    """Formats spectra as pyFAI-like text: '#' header (wavelength in m, unit), two columns."""

    def __init__(self, spectra: Spectra):
        self.spectra = spectra
        self.token = _units.to_token(spectra.axis_name, spectra.axis_unit)
        head = [f"# written by specstate {__version__}"]
        if spectra.wavelength:
            head.append(f"# Wavelength: {spectra.wavelength / _ANGSTROM_PER_METRE!r}")
        head.append(f"# Unit: {self.token}")
        self.head = head
        self.axis_text = _format(spectra.axis)

    def text(self, i: int) -> str:
        s = self.spectra
        head = list(self.head)
        if s.labels is not None:
            head.append(f"# Label: {s.labels[i]}")
        for label, field in (("Train ID", "train_ids"), ("Pulse ID", "pulse_ids")):
            value = getattr(s, field)
            if value is not None:
                head.append(f"# {label}: {int(value[i])}")
        if s.monitor is not None:
            head.append(f"# Monitor: {float(s.monitor[i])!r}")
        head.append(f"# {self.token:>14s} {'I':>14s}")
        rows = map(" ".join, zip(self.axis_text, _format(s.intensity[i])))
        return "\n".join(head) + "\n" + "\n".join(rows) + "\n"
