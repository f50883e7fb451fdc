"""Live sources of spectra: a Karabo bridge endpoint, or a folder where files appear.

A source is an iterable of :class:`~specstate.stream.packets.Packet` (one train or one file,
possibly carrying the kind of problem that makes it unusable) and
:class:`~specstate.stream.packets.Idle` (nothing arrived for a while: the loop uses these
ticks to check its stopping conditions and the model file). Sources never raise on bad data;
they only raise :class:`~specstate.exceptions.StreamError` when they cannot be used at all
(bad endpoint, missing folder). The sources themselves are
:class:`~specstate.stream.bridge.BridgeSource` and :class:`~specstate.stream.folder.FolderSource`.
"""

from __future__ import annotations

from pathlib import Path

from .bridge import BridgeSource
from .folder import FolderSource
from .packets import (
    _ENDPOINT,
    DEFAULT_POLL_S,
    DEFAULT_RECONNECT_AFTER_S,
    DEFAULT_RECV_TIMEOUT_S,
    Idle,
    Packet,
)

__all__ = ["Packet", "Idle", "open_source", "DEFAULT_POLL_S", "DEFAULT_RECONNECT_AFTER_S",
           "DEFAULT_RECV_TIMEOUT_S"]


def open_source(source, *, source_name: str | None = None, key: str | None = None,
                monitor: str | None = None, sub: bool = False,
                timeout: float = DEFAULT_RECV_TIMEOUT_S, poll_interval: float = DEFAULT_POLL_S,
                read_kwargs: dict | None = None,
                reconnect_after: float = DEFAULT_RECONNECT_AFTER_S):
    """A :class:`BridgeSource` for ``tcp://...``, a :class:`FolderSource` for a folder.

    Anything that is already iterable (a source object) is returned unchanged.

    Parameters
    ----------
    source : str, path-like or source object
        Endpoint, folder, or source.
    source_name, key, monitor, sub, timeout, reconnect_after
        Bridge options (see :class:`BridgeSource`).
    poll_interval, read_kwargs
        Folder options (see :class:`FolderSource`).

    Returns
    -------
    BridgeSource or FolderSource

    Raises
    ------
    StreamError
        If `source` is neither an endpoint nor an existing folder.
    """
    if isinstance(source, (BridgeSource, FolderSource)) or (
        hasattr(source, "__iter__") and not isinstance(source, (str, bytes, Path))
    ):
        return source
    if _ENDPOINT.match(str(source)):
        return BridgeSource(str(source), source_name=source_name, key=key, monitor=monitor,
                            sub=sub, timeout=timeout, reconnect_after=reconnect_after)
    if monitor is not None:  # for files, the monitor is a dataset path read by io.read
        read_kwargs = {**(read_kwargs or {}), "monitor": monitor}
    return FolderSource(source, poll_interval=poll_interval, read_kwargs=read_kwargs)
