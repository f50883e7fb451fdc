"""``specstate changes INPUT [-o table.csv]``: where a run changes state, without references.

Reads files, a folder or an EuXFEL run (the shared reading options), finds the first
spectrum of every new segment with :func:`specstate.find_changes`, prints them with their
train and pulse ids and, with ``-o``, writes them as CSV (written to a temporary file and
renamed: never half-written). The false-alarm target is stated in the output.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from ._common import add_input_arguments, read_input

HELP = "find where a run changes state, label-free (no references); write the change points"

_COLUMNS = ("change", "spectrum", "train_id", "pulse_id")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate changes``."""
    from ..changes._online import DEFAULT_WINDOW
    from ..changes._threshold import DEFAULT_ARL_HOURS, DEFAULT_RATE_HZ

    parser.add_argument("input", metavar="INPUT",
                        help="spectra in time order: file, folder, glob or EuXFEL run folder")
    parser.add_argument("-o", "--out", "--output", dest="output", metavar="TABLE.csv",
                        help="write the change points as CSV (change, spectrum, train_id, "
                             "pulse_id)")
    g = parser.add_argument_group("detection")
    g.add_argument("--window", type=int, default=DEFAULT_WINDOW, metavar="N",
                   help="a change that completes within N spectra counts as a change; "
                        "slower motion (a compressing sample, drifts) does not "
                        "(default %(default)s)")
    g.add_argument("--false-alarm-hours", type=float, default=DEFAULT_ARL_HOURS,
                   metavar="H", help="target: one false alarm per H hours at --rate "
                                     "(default %(default)s)")
    g.add_argument("--rate", type=float, default=DEFAULT_RATE_HZ, metavar="HZ",
                   help="spectra per second the false-alarm target refers to "
                        "(default %(default)g, the European XFEL)")
    add_input_arguments(parser)


def _where(spectra, i: int) -> tuple[int, object, object]:
    number = spectra.params.get("spectrum_index")
    n = int(number[i]) if number is not None else i
    tid = int(spectra.train_ids[i]) if spectra.train_ids is not None else ""
    pid = int(spectra.pulse_ids[i]) if spectra.pulse_ids is not None else ""
    return n, tid, pid


def run(args: argparse.Namespace) -> int:
    """Run ``specstate changes``."""
    from ..changes import find_changes
    from ..exceptions import SpectraFormatError
    from ..io._files import atomic_write

    for name, value in (("--window", args.window), ("--false-alarm-hours",
                                                    args.false_alarm_hours),
                        ("--rate", args.rate)):
        if not value > 0:
            raise SpectraFormatError(f"{name} must be positive; got {value}.")
    out = Path(args.output) if args.output else None
    if out is not None and out.suffix.lower() != ".csv":
        raise SpectraFormatError(f"-o must name a .csv file; got '{out}'.")
    spectra = read_input(args.input, args)
    found = find_changes(spectra, window=args.window, arl_hours=args.false_alarm_hours,
                         rate=args.rate)
    rows = [(k + 1, *_where(spectra, int(i))) for k, i in enumerate(found)]
    if out is not None:
        with atomic_write(out) as tmp, tmp.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(_COLUMNS)
            writer.writerows(rows)
    print(f"{args.input}: {spectra.n_spectra} spectra, {len(rows)} change"
          f"{'' if len(rows) == 1 else 's'} (window {args.window} spectra; false-alarm "
          f"target one per {args.false_alarm_hours:g} h at {args.rate:g} spectra/s)"
          + (f" -> {out}" if out is not None else ""))
    for k, n, tid, pid in rows:
        where = f"spectrum {n}"
        if tid != "":
            where += f" (train {tid}" + (f", pulse {pid})" if pid != "" else ")")
        print(f"  change {k}: new segment from {where}")
    return 0
