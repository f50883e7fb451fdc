"""Files: atomic writes, permissions from the umask, natural order, the suffix of each format.

The one home of these helpers; readers, writers, the model file, the stream's sinks and live
plot all use them::

    from specstate.io._files import atomic_write
    with atomic_write("model.h5") as tmp, h5py.File(tmp, "w") as f:
        ...                          # renamed onto model.h5 when the block succeeds

Written files get the permissions of an ordinary ``open()`` (0o666 less the umask): the
temporary file is created with :func:`os.open` and mode 0o666, so the kernel applies the
umask; nothing here changes the process umask (which would race with other threads).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_write",
    "open_hdf5",
    "file_sha256",
    "umask_mode",
    "natural_sort_key",
    "HDF5_SUFFIXES",
    "TEXT_SUFFIXES",
    "CSV_SUFFIXES",
    "NPY_SUFFIXES",
    "NPZ_SUFFIXES",
    "READABLE_SUFFIXES",
    "NEXUS_RESULT_SUFFIXES",
    "RESULT_SUFFIXES",
    "MODEL_SUFFIXES",
    "PLOT_SUFFIXES",
    "format_of",
]

# --- file suffixes (lower case), the one list per format
HDF5_SUFFIXES = (".h5", ".hdf5", ".nxs", ".nx5", ".hdf", ".he5")
TEXT_SUFFIXES = (".xy", ".dat", ".txt")
CSV_SUFFIXES = (".csv",)
NPY_SUFFIXES = (".npy",)
NPZ_SUFFIXES = (".npz",)
#: everything :func:`specstate.read` reads (and a watched folder picks up)
READABLE_SUFFIXES = TEXT_SUFFIXES + CSV_SUFFIXES + NPY_SUFFIXES + NPZ_SUFFIXES + HDF5_SUFFIXES
#: results files: NeXus (HDF5) or a CSV table
NEXUS_RESULT_SUFFIXES = HDF5_SUFFIXES
RESULT_SUFFIXES = NEXUS_RESULT_SUFFIXES + CSV_SUFFIXES
#: model files (HDF5)
MODEL_SUFFIXES = HDF5_SUFFIXES
#: the live view of ``watch --plot``: a PNG, or an HTML page that reloads itself
PLOT_SUFFIXES = (".png", ".html")
#: suffixes of formats specstate does not write, named in messages (a model is not a pickle)
FOREIGN_SUFFIXES = {".pkl": "a pickle", ".pickle": "a pickle", ".joblib": "a joblib pickle",
                    ".json": "a JSON", ".png": "an image", ".pdf": "a PDF", ".html": "a web page",
                    ".npy": "a numpy array", ".npz": "a numpy archive", ".xy": "a text spectrum",
                    ".txt": "a text", ".dat": "a text", ".csv": "a CSV table",
                    ".parquet": "a Parquet", ".zip": "a zip archive"}

_DIGITS = re.compile(r"(\d+)")
#: bytes read at a time when hashing a file
_HASH_BLOCK = 1 << 20
#: mode given to :func:`os.open` / :func:`os.mkdir`; the kernel takes the umask off
_FILE_MODE = 0o666
_DIR_MODE = 0o777


def format_of(path) -> str | None:
    """The kind of file a suffix names: 'hdf5', 'text', 'csv', 'npy', 'npz' or None."""
    suffix = Path(path).suffix.lower()
    for kind, suffixes in (("hdf5", HDF5_SUFFIXES), ("text", TEXT_SUFFIXES),
                           ("csv", CSV_SUFFIXES), ("npy", NPY_SUFFIXES), ("npz", NPZ_SUFFIXES)):
        if suffix in suffixes:
            return kind
    return None


def _read_umask() -> int:
    # Linux reports it without changing it; elsewhere, a probe file created with 0o666
    # shows what the kernel took off. Never os.umask(): setting it races with threads.
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    import tempfile

    probe = Path(tempfile.gettempdir()) / f".specstate-umask-{secrets.token_hex(8)}"
    fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _FILE_MODE)
    try:
        return _FILE_MODE & ~os.fstat(fd).st_mode & 0o777
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)


def umask_mode(directory: bool = False) -> int:
    """Permissions a new file (or folder) gets from the process umask, without changing it.

    Parameters
    ----------
    directory : bool, default=False
        For a folder (0o777 less the umask) rather than a file (0o666 less the umask).

    Returns
    -------
    int
    """
    return (_DIR_MODE if directory else _FILE_MODE) & ~_read_umask()


def natural_sort_key(path) -> tuple:
    """Sort key: numbers by value (``_2`` before ``_10``), letters regardless of case.

    The one order of a folder's files, for :func:`specstate.read` and the watched folder
    alike: ``a1, a2, A10, B1``.

    Examples
    --------
    >>> sorted(["a_10.xy", "a_2.xy", "A_1.xy", "B_1.xy"], key=natural_sort_key)
    ['A_1.xy', 'a_2.xy', 'a_10.xy', 'B_1.xy']
    """
    text = str(path)
    parts = _DIGITS.split(text)
    key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts)
    return key + ((2, 0, text),)  # names equal but for case: a fixed order all the same


def open_hdf5(path, *, error: type[Exception] | None = None, what: str = "an HDF5 file"):
    """Open `path` read-only with h5py, or raise one sentence that says why not.

    Parameters
    ----------
    path : str or path-like
        The file.
    error : exception class, optional
        What to raise (default :class:`specstate.exceptions.SpectraFileError`; the model
        file raises ``ModelFileError``).
    what : str
        What the file should be, for the message ("a results file", "a model file").

    Returns
    -------
    h5py.File
        Open for reading; close it (``with``).

    Raises
    ------
    SpectraFileError
        (or `error`) If the file is missing, a folder, or not a readable HDF5 file.
    """
    import h5py

    from ..exceptions import SpectraFileError

    error = error or SpectraFileError
    path = Path(path)
    if not path.exists():
        raise error(f"No such file: '{path}'.")
    if path.is_dir():
        raise error(f"'{path}' is a folder, expected {what}.")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        detail = str(exc).strip().rstrip(".")
        expected = "" if what == "an HDF5 file" else f"; expected {what}"
        raise error(
            f"'{path}' cannot be opened as HDF5 (truncated, corrupt or not an HDF5 file"
            f"{expected}): {detail}."
        ) from None


def file_sha256(path) -> str:
    """Hex SHA-256 checksum of a file.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()




def _temporary_name(target: Path) -> Path:
    return target.parent / f".{target.name}.tmp-{secrets.token_hex(4)}{target.suffix}"


@contextlib.contextmanager
def atomic_write(target, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `target`; rename it onto `target` if the block succeeds.

    The temporary file (or folder, with ``directory=True``) is created empty, hidden (its
    name starts with '.'), with the permissions of an ordinary new file under the current
    umask. On error it is removed and `target` is left as it was: nothing half-written.
    Missing parent folders are created.

    Parameters
    ----------
    target : str or path-like
        The file (or folder) to write.
    directory : bool, default=False
        Write a folder (e.g. of ``.xy`` files); an existing `target` folder is replaced.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Examples
    --------
    >>> from specstate.io._files import atomic_write
    >>> with atomic_write(tmp_path / "x.txt") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("complete")
    """
    target = Path(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(target)
    if directory:
        os.mkdir(tmp, _DIR_MODE)
    else:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _FILE_MODE))
    try:
        yield tmp
    except BaseException:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
    if directory:
        old = None
        if target.exists():
            old = parent / f".{target.name}.old-{secrets.token_hex(4)}"
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
