"""A live source reading the files that appear in a folder (polling; network file systems)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..exceptions import StreamError
from ..io._files import HDF5_SUFFIXES, READABLE_SUFFIXES, natural_sort_key
from ..io._schema import LABELS_FILE
from .packets import (
    DEFAULT_ORDER_WAIT_S,
    DEFAULT_POLL_S,
    Idle,
    Packet,
)

__all__ = ["FolderSource"]

log = logging.getLogger(__name__)


class FolderSource:
    """Files that appear in a folder, each read once, in natural order, when complete.

    The folder is polled (which works on network file systems). A file is complete when its
    size and modification time held across two polls, and, for HDF5, when it also opens
    cleanly. A file still being written holds back the files after it for at most
    `order_wait` seconds. Files are read with :func:`specstate.io.read`.

    Parameters
    ----------
    folder : path-like
        The folder to watch (files present at the start are read too).
    patterns : sequence of str, optional
        Glob patterns of the files to read; default: every file :func:`specstate.read`
        reads (:data:`specstate.io._files.READABLE_SUFFIXES`, any case), except a
        ``labels.csv`` table.
    poll_interval : float, default 0.5
        Seconds between polls.
    order_wait : float, default 30
        How long an incomplete file may hold back later files.
    read_kwargs : dict, optional
        Passed to :func:`specstate.io.read`.
    exclude : sequence of path-like
        Files never read (e.g. the results being written into the same folder). Hidden
        files (names starting with '.') are never read either.
    """

    def __init__(self, folder, *, patterns: Sequence[str] = (),
                 poll_interval: float = DEFAULT_POLL_S,
                 order_wait: float = DEFAULT_ORDER_WAIT_S, read_kwargs: dict | None = None,
                 exclude: Sequence = ()):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise StreamError(f"The folder to watch must exist; {str(self.folder)!r} is not a "
                              "folder (a bridge endpoint looks like 'tcp://host:port').")
        self.patterns = tuple(patterns)
        self.poll_interval = float(poll_interval)
        self.order_wait = float(order_wait)
        self.read_kwargs = dict(read_kwargs or {})
        self.exclude = {Path(p).resolve() for p in exclude}
        self.reconnects = 0

    def _candidates(self, done: set) -> list[Path]:
        if self.patterns:
            found = {p for pat in self.patterns for p in self.folder.glob(pat)} - done
        else:  # what read() reads, whatever the case of the suffix; never a labels table
            found = {p for p in self.folder.iterdir()
                     if p.suffix.lower() in READABLE_SUFFIXES and p.name != LABELS_FILE} - done
        found = {p for p in found if not p.name.startswith(".")}  # hidden: temporary files
        if self.exclude:
            found = {p for p in found if p.resolve() not in self.exclude}
        return sorted((p for p in found if p.is_file()), key=natural_sort_key)

    @staticmethod
    def _opens(path: Path) -> bool:
        import h5py

        try:
            with h5py.File(path, "r"):
                return True
        except Exception:  # noqa: BLE001 - any failure means "not (yet) a whole HDF5 file"
            return False

    def __iter__(self) -> Iterator[Packet | Idle]:
        done: set = set()
        pending: dict = {}  # path -> (signature, first seen)
        failed: dict = {}  # path -> signature when it failed to parse
        seq = 0
        while True:
            produced = False
            now = time.monotonic()
            for path, sig in list(failed.items()):
                # A file that failed to parse and changed since was still being written
                # (e.g. a writer that paused longer than two polls): read it again.
                try:
                    st = path.stat()
                except FileNotFoundError:
                    failed.pop(path)
                    continue
                if (st.st_size, st.st_mtime_ns) != sig:
                    failed.pop(path)
                    done.discard(path)
            for path in self._candidates(done):
                try:
                    st = path.stat()
                except FileNotFoundError:
                    pending.pop(path, None)
                    continue
                sig = (st.st_size, st.st_mtime_ns)
                prev = pending.get(path)
                ready = prev is not None and prev[0] == sig and st.st_size > 0
                if ready and path.suffix.lower() in HDF5_SUFFIXES:
                    ready = self._opens(path)
                    if not ready and now - prev[1] > self.order_wait:
                        ready = True  # stable for long yet unreadable: let read() report it
                if not ready:
                    pending[path] = (sig, prev[1] if prev else now)
                    if now - pending[path][1] < self.order_wait:
                        break  # keep natural order: later files wait for this one
                    continue
                pending.pop(path, None)
                done.add(path)
                packet = self._read(path, seq)
                if packet.error == "parse":
                    failed[path] = sig
                yield packet
                seq += 1
                produced = True
            if not produced:
                yield Idle("poll")
                time.sleep(self.poll_interval)

    def _read(self, path: Path, seq: int) -> Packet:
        from .. import io

        received = time.perf_counter()
        p = Packet(seq, received=received, timestamp=time.time(), name=path.name)
        try:
            s = io.read(path, **self.read_kwargs)
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, never fatal
            p.error = "parse"
            p.message = f"cannot read {path}: {exc}"
            return p
        intensity = np.asarray(s.intensity)
        if intensity.ndim == 1:
            intensity = intensity[np.newaxis]
        p.spectra = intensity
        p.axis = np.asarray(s.axis)
        if getattr(s, "monitor", None) is not None:
            p.monitor = np.asarray(s.monitor, dtype=np.float64)
        return p
