"""Classify many runs or files at once on a Dask cluster.

:func:`classify_many` makes one task per input (or per chunk of trains of a large EuXFEL
run), runs them on a :mod:`dask.distributed` cluster and writes one results file per input.
Each task loads the model itself from its path (a fresh object: tasks share no model) and
reads its own input, so neither the model's arrays nor the spectra travel through the
scheduler; only the per-spectrum results (labels, probabilities, ids) come back. A task that
fails marks its input as failed and the others go on.

The cluster:

* ``scheduler=None``: the scheduler named by Dask's configuration key
  ``scheduler-address`` if set, else a :class:`distributed.LocalCluster` on this machine
  (``n_workers`` processes of one thread);
* ``scheduler="tcp://host:8786"``: an existing scheduler; a path to a JSON file: a
  scheduler file (``dask scheduler --scheduler-file``);
* ``scheduler="slurm"`` (or ``"pbs"``, ``"sge"``, ``"lsf"``, ``"htcondor"``, ``"oar"``,
  ``"moab"``): a :mod:`dask_jobqueue` cluster configured from the user's Dask configuration
  (``~/.config/dask/jobqueue.yaml``), scaled to ``n_workers``;
* ``scheduler="synchronous"``: no Dask, every task in this process (the serial path);
* a :class:`distributed.Client`: used as it is.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import SpecstateError, SpectraFormatError
from .results import Classification

__all__ = ["classify_many", "classify_input", "RunStatus", "JOBQUEUE_CLUSTERS", "SYNCHRONOUS"]

logger = logging.getLogger(__name__)

#: ``scheduler`` value that runs every task in this process, without Dask
SYNCHRONOUS = "synchronous"
#: ``scheduler`` names that start a dask-jobqueue cluster -> its class name
JOBQUEUE_CLUSTERS = {
    "slurm": "SLURMCluster",
    "pbs": "PBSCluster",
    "sge": "SGECluster",
    "lsf": "LSFCluster",
    "htcondor": "HTCondorCluster",
    "oar": "OARCluster",
    "moab": "MoabCluster",
}
#: formats of the per-input results files
RESULT_FORMATS = ("nxs", "csv")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class RunStatus:
    """What became of one input.

    Attributes
    ----------
    input : str
        The input path as given.
    output : pathlib.Path or None
        The results file written (None if the input failed).
    n_spectra : int
        Number of spectra classified.
    counts : dict
        Number of spectra per state (state name -> count).
    n_ambiguous : int
        Number of spectra flagged ambiguous.
    error : str or None
        Why the input failed, in one sentence; None if it succeeded.
    """

    input: str
    output: Path | None = None
    n_spectra: int = 0
    counts: dict = field(default_factory=dict)
    n_ambiguous: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the input was classified and its results written."""
        return self.error is None


@dataclass
class InputResult:
    """What a worker sends back for one task: per-spectrum results and the files read.

    Attributes
    ----------
    classification : Classification
        With the spectra's ids (index, file, train and pulse id where known).
    input_files : list of str
        The files the task read (for the provenance).
    state_means : specstate.means.StateMeans, optional
        Per-state sums of the task's spectra (the results file keeps the per-state means).
    """

    classification: Classification
    input_files: list = field(default_factory=list)
    state_means: object | None = None

    @classmethod
    def concatenate(cls, parts: Sequence[InputResult]) -> InputResult:
        """Join the chunks of one input, in order."""
        files = []
        for p in parts:
            files.extend(f for f in p.input_files if f not in files)
        means = None
        for p in parts:
            if p.state_means is not None:
                means = p.state_means if means is None else means.add(p.state_means)
        return cls(Classification.concatenate([p.classification for p in parts]), files,
                   means)


#: Task flag: the task reads a whole input (not a chunk of its trains).
WHOLE_RUN = "_whole_run"


def classify_input(model_path, path, read_kwargs: Mapping | None = None) -> InputResult:
    """Read one input and classify it (the work of one task).

    The model is loaded from its file by each task, so no task shares a model object with
    another (nothing on the predict path is shared mutable state); it is a few MB, read in
    milliseconds next to reading the input.

    Parameters
    ----------
    model_path : str or path-like
        The model file.
    path : str or path-like
        The input (file, folder, glob or EuXFEL run folder), read by :func:`specstate.io.read`.
    read_kwargs : mapping, optional
        Keyword arguments of :func:`specstate.io.read` (``source``, ``key``, ``trains``...).

    Returns
    -------
    InputResult
        Per-spectrum labels, probabilities, confidence, ambiguity and ids.
    """
    from . import io
    from .classifier import SpectraClassifier
    from .io.results import input_files_of

    logger.debug("Loading the model %s in process %d.", model_path, os.getpid())
    model = SpectraClassifier.load(model_path)
    read_kwargs = dict(read_kwargs or {})
    whole = bool(read_kwargs.pop(WHOLE_RUN, False))
    spectra = io.read(path, **read_kwargs)
    # a whole input is one run in acquisition order: its drift is tracked along it, as
    # `specstate classify` does; chunks of a run are classified apart with the fitted mode
    result = model.classify(spectra, drift=model.run_drift() if whole else None)
    result = result.with_ids(spectra)
    from .means import StateMeans

    means = StateMeans.of(result, spectra.intensity, axis=spectra.axis,
                          axis_name=spectra.axis_name, axis_unit=spectra.axis_unit)
    return InputResult(result, input_files_of(spectra, None), means)


def output_names(inputs: Sequence, suffix: str) -> list[str]:
    """One distinct file name per input, derived from its path (``r0042.nxs``).

    Parameters
    ----------
    inputs : sequence of str or path-like
        The inputs.
    suffix : str
        Extension of the results files, e.g. ``'.nxs'``.

    Returns
    -------
    list of str
        File names; a name used twice gets the parent folder's name in front
        (``raw_r0042.nxs``), then a counter.
    """
    stems = []
    for item in inputs:
        p = Path(str(item).rstrip("/"))
        stem = p.name if p.is_dir() else p.stem
        stems.append(_UNSAFE.sub("_", stem.replace("*", "all")) or "input")
    names, seen = [], set()
    for item, stem in zip(inputs, stems):
        name = stem
        if stems.count(stem) > 1:
            parent = Path(str(item).rstrip("/")).parent.name
            name = _UNSAFE.sub("_", f"{parent}_{stem}") if parent else stem
        base, k = name, 2
        while name in seen:
            name, k = f"{base}-{k}", k + 1
        seen.add(name)
        names.append(name + suffix)
    return names


def _plan(i, item, read_kwargs, chunk_trains):
    """The tasks of input number `i`: (input index, chunk index, path, read kwargs)."""
    from .io.euxfel import is_run_folder, train_ids_with_data

    kwargs = dict(read_kwargs or {})
    if not (chunk_trains and is_run_folder(item)):
        return [(i, 0, item, {**kwargs, WHOLE_RUN: True})]
    # only trains that hold spectra: a chunk without any would fail to read
    ids = train_ids_with_data(item, kwargs.get("source"), kwargs.get("key"),
                              kwargs.get("monitor"), kwargs.get("trains"))
    n_chunks = max(1, -(-ids.size // int(chunk_trains)))  # ceil division
    return [
        (i, j, item, {**kwargs, "trains": [int(t) for t in part]})
        for j, part in enumerate(np.array_split(ids, n_chunks))
    ]


class _InProcess:
    """The serial executor: runs each task here, in order."""

    def run(self, tasks, model_path):
        for t in tasks:
            try:
                yield t, classify_input(model_path, os.path.abspath(t[2]), t[3]), None
            except Exception as exc:  # noqa: BLE001 - a failing input must not stop the rest
                yield t, None, exc


class _DaskExecutor:
    def __init__(self, client):
        self.client = client

    def run(self, tasks, model_path):
        from distributed import as_completed

        # absolute paths: workers of a remote cluster may start in another folder
        model_path = os.path.abspath(model_path)
        futures = {}
        for t in tasks:
            fut = self.client.submit(classify_input, model_path, os.path.abspath(t[2]), t[3],
                                     pure=False,
                                     key=f"specstate-classify-{t[0]}-{t[1]}-{os.urandom(4).hex()}")
            futures[fut] = t
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                yield t, fut.result(), None
            except Exception as exc:  # noqa: BLE001 - a failing input must not stop the rest
                yield t, None, exc
            finally:
                fut.release()


def _connect(scheduler, n_workers, processes):
    """Return (client, things to close)."""
    import dask
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        return scheduler, []
    if scheduler is None:
        address = dask.config.get("scheduler-address", None)
        if address:
            logger.info("Connecting to the Dask scheduler %s (from the Dask config).", address)
            client = Client(address)
            return client, [client]
        cluster = LocalCluster(
            n_workers=n_workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            silence_logs=logging.WARNING,  # the cluster's own INFO chatter is not ours
        )
        client = Client(cluster)
        return client, [client, cluster]
    name = str(scheduler)
    if name.lower() in JOBQUEUE_CLUSTERS:
        try:
            import dask_jobqueue
        except ImportError:
            raise SpectraFormatError(
                f"The scheduler {name!r} needs the package dask-jobqueue "
                "(pip install dask-jobqueue)."
            ) from None
        cluster = getattr(dask_jobqueue, JOBQUEUE_CLUSTERS[name.lower()])()
        if n_workers:
            cluster.scale(n=n_workers)
        client = Client(cluster)
        return client, [client, cluster]
    if Path(name).is_file():
        client = Client(scheduler_file=name)
        return client, [client]
    client = Client(name)
    return client, [client]


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, SpecstateError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


def classify_many(
    model_path,
    inputs: Sequence,
    out_dir,
    *,
    scheduler: Any = None,
    n_workers: int | None = None,
    read_kwargs: Mapping | None = None,
    progress: bool = True,
    fmt: str = "nxs",
    chunk_trains: int | None = None,
    processes: bool = True,
    parameters: Mapping | None = None,
) -> list[RunStatus]:
    """Classify many inputs in parallel and write one results file per input.

    Parameters
    ----------
    model_path : str or path-like
        Model file (:meth:`specstate.SpectraClassifier.save`); every worker loads it itself.
    inputs : sequence of str or path-like
        Run folders, files, folders or globs, each read by :func:`specstate.io.read`.
    out_dir : str or path-like
        Folder for the results (created); one file per input named after it
        (:func:`output_names`), e.g. ``r0042.nxs``.
    scheduler : None, str or distributed.Client, optional
        Where to run (see the module documentation): None for the Dask config's
        ``scheduler-address`` or else a local cluster, an address or scheduler file, a
        dask-jobqueue name such as ``'slurm'``, or ``'synchronous'`` for no Dask.
    n_workers : int, optional
        Workers of a cluster started here (default: one per CPU core).
    read_kwargs : mapping, optional
        Options of :func:`specstate.io.read` shared by all inputs (``source``, ``key``,
        ``monitor``, ``trains``...).
    progress : bool, default=True
        Show a progress bar (tqdm, on stderr) over the tasks.
    fmt : {'nxs', 'csv'}, default='nxs'
        Format of the results files.
    chunk_trains : int, optional
        Split EuXFEL runs into tasks of this many trains (for big runs); default: one task
        per input.
    processes : bool, default=True
        Local cluster only: workers are processes (True) or threads of this process.
    parameters : mapping, optional
        Extra parameters recorded in the provenance of each results file.

    Returns
    -------
    list of RunStatus
        One per input, in the order of `inputs`; ``status.ok`` tells whether it succeeded,
        ``status.error`` why not.

    Raises
    ------
    SpectraFormatError
        If `fmt` is unknown or `inputs` is empty.
    SpectraFileError, ModelFileError
        If the model cannot be loaded (checked here before any task starts).

    Examples
    --------
    >>> status = classify_many("model.h5", ["raw/r0042", "raw/r0043"], "results/",
    ...                        read_kwargs={"source": "FXE_DET_SPEC/DET/A:output",
    ...                                     "key": "data.spectrum"},
    ...                        n_workers=2)  # doctest: +SKIP
    >>> [s.ok for s in status]  # doctest: +SKIP
    [True, True]
    """
    from tqdm.auto import tqdm

    from .io.results import write_results

    if fmt not in RESULT_FORMATS:
        raise SpectraFormatError(
            f"The results format must be one of {RESULT_FORMATS}; got {fmt!r}."
        )
    inputs = [str(p) for p in inputs]
    if not inputs:
        raise SpectraFormatError("classify_many needs at least one input; got none.")
    from .classifier import SpectraClassifier

    model_path = Path(model_path)
    model = SpectraClassifier.load(model_path)  # fail early on a bad model; for its regions
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = output_names(inputs, f".{fmt}")
    status = [RunStatus(p) for p in inputs]
    tasks = []
    for i, item in enumerate(inputs):
        try:
            tasks.extend(_plan(i, item, read_kwargs, chunk_trains))
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            status[i].error = _error_text(exc)
    n_parts = {}
    for i, _, _, _ in tasks:
        n_parts[i] = n_parts.get(i, 0) + 1
    parts: dict[int, dict[int, InputResult]] = {i: {} for i in n_parts}

    closers = []
    if scheduler == SYNCHRONOUS:
        executor = _InProcess()
    else:
        client, closers = _connect(scheduler, n_workers, processes)
        executor = _DaskExecutor(client)
    params = {
        "model": str(model_path),
        "scheduler": str(scheduler) if scheduler is not None else "local",
        "chunk_trains": chunk_trains,
        **{f"read_{k}": v for k, v in dict(read_kwargs or {}).items()},
        **dict(parameters or {}),
    }
    try:
        bar = tqdm(total=len(tasks), desc="classifying", unit="task", disable=not progress)
        for (i, j, _, _), chunk, exc in executor.run(tasks, model_path):
            bar.update(1)
            if status[i].error is not None:
                continue
            if exc is not None:
                status[i].error = _error_text(exc)
                logger.info("%s failed: %s", inputs[i], status[i].error)
                continue
            parts[i][j] = chunk
            if len(parts[i]) < n_parts[i]:
                continue
            joined = InputResult.concatenate([parts[i][k] for k in sorted(parts[i])])
            parts[i].clear()
            result = joined.classification
            try:
                out = write_results(out_dir / names[i], result, None, model,
                                    model_path=model_path, inputs=joined.input_files,
                                    parameters=params, program="specstate classify",
                                    state_means=joined.state_means)
            except Exception as exc:  # noqa: BLE001 - report and go on with the others
                status[i].error = _error_text(exc)
                continue
            status[i].output = out
            status[i].n_spectra = len(result)
            status[i].counts = {k: v for k, v in result.counts().items() if v}
            status[i].n_ambiguous = int(np.count_nonzero(result.ambiguous))
        bar.close()
    finally:
        for obj in closers:
            obj.close()
    return status
