"""``specstate classify MODEL DATA [DATA ...] -o OUT``: the state of every spectrum.

One input: ``OUT`` is a results file, ``.csv`` or ``.nxs`` (NeXus with provenance) by its
extension, and a summary is printed (spectra per state, ambiguous ones, the transitions
located along the run). Several inputs, or ``--dask`` / ``--scheduler``: ``OUT`` is a folder
that gets one results file per input (named after it, ``--format`` nxs or csv), the inputs
run in parallel on a Dask cluster (``--dask``: a local one with ``--workers`` processes;
``--scheduler ADDRESS``: an existing one, or ``slurm`` etc. for a dask-jobqueue cluster from
the Dask configuration); without them one after the other in this process. One input with
``-o`` naming an existing folder (or ending in ``/``) is written into that folder too.

Exit status: 0 when every input was classified; 1 when some inputs failed (each is reported,
the others' results are written); 2 for bad usage, a bad model, or a single input that cannot
be read.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import numpy as np

from ._common import add_input_arguments, read_input, read_kwargs

HELP = "classify spectra with a fitted model; write the states as .csv or NeXus (.nxs)"

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
#: widest state name shown in the summary table before it is cut
_NAME_WIDTH = 24


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate classify``."""
    parser.add_argument("model", metavar="MODEL", help="model file written by 'specstate fit'")
    parser.add_argument("data", metavar="DATA", nargs="+",
                        help="spectra: file, folder, glob or EuXFEL run folder (several: one "
                             "results file each in the -o folder)")
    parser.add_argument("-o", "--out", "--output", dest="output", metavar="OUT",
                        help="results file (.csv or .nxs) for one input; a folder for several "
                             "inputs or --dask")
    parser.add_argument("--format", choices=("nxs", "csv"), default="nxs",
                        help="format of the per-input results files in an -o folder "
                             "(default: nxs)")
    add_input_arguments(parser)
    g = parser.add_argument_group("many inputs in parallel (Dask)")
    g.add_argument("--dask", action="store_true",
                   help="run the inputs on a Dask cluster (default: a local one)")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="existing Dask scheduler (tcp://host:8786 or a scheduler file), or "
                        "slurm/pbs/sge/lsf for a dask-jobqueue cluster from your Dask config; "
                        "implies --dask")
    g.add_argument("--workers", type=int, metavar="N",
                   help="workers of a local or jobqueue cluster (default: one per CPU core)")
    g.add_argument("--chunk-trains", type=int, metavar="N",
                   help="split each EuXFEL run into tasks of N trains")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--plot", metavar="DIR", type=Path,
                        help="one input: also write the report's panels (the run, its "
                             "per-state mean spectra, the model) as PNG files into DIR")
    parser.add_argument("--unordered", action="store_true",
                        help="the spectra are not in acquisition order: do not locate "
                             "transitions (also skipped for files without a run number in "
                             "their names)")


def _counts_table(labels, classes, ambiguous) -> list[str]:
    labels = np.asarray(labels).astype(str)
    names = [str(c) for c in classes]
    width = min(max(len("ambiguous"), *(len(c) for c in names)), _NAME_WIDTH)
    lines = [f"  {'state':<{width}}  {'spectra':>8}"]
    for name in names:
        lines.append(f"  {name[:width]:<{width}}  {int(np.count_nonzero(labels == name)):>8}")
    lines.append(f"  {'ambiguous':<{width}}  {int(np.count_nonzero(ambiguous)):>8}")
    return lines


_DIGIT = re.compile(r"\d")


def run_order(spectra, unordered: bool = False) -> str | None:
    """Why `spectra` have no acquisition order (None: they have one).

    Transitions are located along the order of the spectra, so that order must be the order
    of acquisition: train ids give it, and so do the spectra of one file, or files numbered
    by the run (``scan_0001.xy``); files without a number in their names come in an order
    that says nothing about when they were measured.
    """
    if unordered:
        return "--unordered"
    if spectra.train_ids is not None:
        return None
    files = spectra.metadata.get("files")
    if isinstance(files, list) and len(files) > 1:
        unnumbered = [str(f) for f in files if not _DIGIT.search(Path(str(f)).stem)]
        if unnumbered:
            return (f"the input files have no run number in their names (e.g. "
                    f"{unnumbered[0]}), so their order is not the acquisition order")
    return None


def _transition_lines(result, classes, spectra, unordered: bool) -> list[str]:
    from ..transitions import locate_transitions

    why_not = run_order(spectra, unordered)
    if why_not is not None:
        return [f"  transitions: not located ({why_not})"]
    found = locate_transitions(result.proba, classes, ambiguous=result.ambiguous)
    order = "train id" if spectra.train_ids is not None else "the order read"
    if not found:
        return [f"  transitions (along {order}, taken as the acquisition order): none"]
    lines = [f"  transitions (along {order}, taken as the acquisition order):"]
    number = result.index
    for t in found:
        where = f"spectrum {int(number[t.index])}"
        if result.files is not None and result.train_ids is None:
            where += f" ({result.files[t.index]})"
        if result.train_ids is not None:
            where += f" (train {int(result.train_ids[t.index])}"
            where += (f", pulse {int(result.pulse_ids[t.index])})"
                      if result.pulse_ids is not None else ")")
        last, first = t.low_confidence
        lines.append(f"    {t.from_state} -> {t.to_state} at {where}; low confidence "
                     f"between spectra {int(number[last])} and {int(number[first])}")
    return lines


def _run_single(args, model_path: Path) -> int:
    from ..classifier import SpectraClassifier
    from ..io.results import write_results
    from ._common import check_output, check_output_folder

    target = check_output(args.output, ("results",)) if args.output else None
    plot_dir = check_output_folder(args.plot, option="--plot") if args.plot else None
    model = SpectraClassifier.load(model_path)
    spectra = read_input(args.data[0], args)
    # one run in acquisition order: its energy-scale drift is tracked along it
    ordered = run_order(spectra, args.unordered) is None
    result = model.classify(spectra, drift=model.run_drift() if ordered else None)
    result = result.with_ids(spectra)
    out = None
    if target is not None:
        params = {"model": str(model_path), **{f"read_{k}": v for k, v in
                                                read_kwargs(args).items()}}
        target.create_parent()
        out = write_results(target.path, result, spectra, model, model_path=model_path,
                            inputs=None if spectra.metadata.get("run") else args.data,
                            parameters=params)
    head = f"{args.data[0]}: {len(result.labels)} spectra"
    print(head + (f" -> {out}" if out else ""))
    for line in _counts_table(result.labels, model.classes_, result.ambiguous):
        print(line)
    for line in _transition_lines(result, model.classes_, spectra, args.unordered):
        print(line)
    if plot_dir is not None:
        _save_panels(plot_dir, model, model_path, result, spectra)
    return EXIT_OK


def _save_panels(plot_dir, model, model_path, result, spectra) -> None:
    """The report's panels of this run as PNG files (``--plot DIR``)."""
    from ..means import StateMeans
    from ..report.panels import model_panel, run_panel
    from ..report.png import save_panels

    means = None
    if len(result):
        means = StateMeans.of(result, spectra.intensity, axis=spectra.axis,
                              axis_name=spectra.axis_name, axis_unit=spectra.axis_unit)
    plot_dir.create_parent()
    files = save_panels(plot_dir.path, model_panel(model, str(model_path)),
                        run_panel(result, state_means=means))
    print(f"Wrote {', '.join(f.name for f in files)} into {plot_dir.path}")


def _quiet_dask() -> None:
    """Keep Dask's INFO chatter (workers starting and stopping) off the terminal; -v shows it.

    Importing distributed sets the levels of its loggers from Dask's configuration, so the
    levels are set after that import, on every one of its loggers.
    """
    import distributed  # noqa: F401 - see above

    names = [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    for name in ("distributed", *names):
        logging.getLogger(name).setLevel(logging.WARNING)


def _run_many(args, model_path: Path) -> int:
    from ..exceptions import SpectraFormatError
    from ..io._files import RESULT_SUFFIXES
    from ..parallel import SYNCHRONOUS, classify_many
    from ._common import check_output_folder

    if not args.output:
        raise SpectraFormatError(
            "Several inputs (or --dask) need -o FOLDER for the per-input results files."
        )
    if args.plot:
        raise SpectraFormatError(
            "--plot draws the panels of one input; with several, run specstate report on "
            "each results file in the -o folder."
        )
    out = Path(args.output)
    if out.suffix.lower() in RESULT_SUFFIXES or out.is_file():
        raise SpectraFormatError(
            f"With several inputs (or --dask) -o must be a folder; got the file name '{out}'."
        )
    check_output_folder(out).create_parent()
    use_dask = args.dask or args.scheduler is not None
    if use_dask and not getattr(args, "verbose", 0):
        _quiet_dask()
    status = classify_many(
        model_path,
        args.data,
        out,
        scheduler=args.scheduler if use_dask else SYNCHRONOUS,
        n_workers=args.workers,
        read_kwargs=read_kwargs(args),
        progress=not args.no_progress,
        fmt=args.format,
        chunk_trains=args.chunk_trains,
    )
    width = max(len(s.input) for s in status)
    for s in status:
        if s.ok:
            counts = ", ".join(f"{k}: {v}" for k, v in s.counts.items())
            print(f"{s.input:<{width}}  {s.n_spectra:>8} spectra  {counts}; "
                  f"ambiguous: {s.n_ambiguous} -> {s.output}")
        else:
            print(f"{s.input:<{width}}  FAILED: {s.error}")
    failed = sum(not s.ok for s in status)
    if failed:
        print(f"error: {failed} of {len(status)} inputs failed", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run ``specstate classify``."""
    from ..exceptions import SpectraFileError

    model_path = Path(args.model)
    if not model_path.is_file():
        raise SpectraFileError(f"The model file '{model_path}' does not exist.")
    if args.workers is not None and args.workers < 1:
        from ..exceptions import SpectraFormatError

        raise SpectraFormatError(f"--workers must be at least 1; got {args.workers}.")
    to_folder = bool(args.output) and (args.output.endswith(("/", "\\"))
                                       or Path(args.output).is_dir())
    if len(args.data) == 1 and not (args.dask or args.scheduler is not None or to_folder):
        return _run_single(args, model_path)
    return _run_many(args, model_path)
