"""``specstate watch [MODEL] SOURCE``: classify a live bridge stream or a growing folder.

With ``--changes`` label-free change events are raised beside the state changes; with a
single positional argument (the source) and ``--changes`` the watch is label-free only.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

HELP = "classify a live Karabo bridge stream or a folder of new files, train by train"

#: Seconds between two updates of the live line on a terminal.
TTY_REFRESH_S = 0.25
#: Seconds between two status lines when the output is not a terminal (log files).
PLAIN_REFRESH_S = 10.0
#: BLAS threads while classifying: one, so that receiving the stream keeps its own cores
#: (measured faster than two on a 2-core machine with the bridge server on it).
DEFAULT_THREADS = 1


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate watch``."""
    from ..changes._online import DEFAULT_WINDOW
    from ..changes._threshold import DEFAULT_ARL_HOURS, DEFAULT_RATE_HZ
    from ..stream.loop import DEFAULT_ALERT_TRAINS, DEFAULT_LATE_AFTER_S
    from ..stream.sinks import DEFAULT_CHECKPOINT_EVERY
    from ..stream.sources import (
        DEFAULT_POLL_S,
        DEFAULT_RECONNECT_AFTER_S,
        DEFAULT_RECV_TIMEOUT_S,
    )

    parser.add_argument("model", nargs="?", metavar="MODEL",
                        help="saved SpectraClassifier (.h5); reloaded when replaced; omit it "
                             "with --changes to watch label-free")
    parser.add_argument("source", help="bridge endpoint tcp://host:port, or a folder where "
                                       ".xy/.h5 files appear")
    g = parser.add_argument_group("bridge")
    g.add_argument("--source", dest="source_name", metavar="S",
                   help="source holding the spectrum (default: the only one)")
    g.add_argument("--key", metavar="K", help="key of the spectrum (default: the only array)")
    g.add_argument("--monitor", metavar="SOURCE:KEY",
                   help="per-pulse monitor, e.g. the XGM pulse energy")
    g.add_argument("--min-monitor", type=float, metavar="X",
                   help="spectra with a monitor below X are 'no beam' (not counted)")
    g.add_argument("--sub", action="store_true", help="SUB socket instead of REQ")
    g.add_argument("--recv-timeout", type=float, default=DEFAULT_RECV_TIMEOUT_S, metavar="S",
                   help="seconds to wait for one train before reporting a timeout "
                        "(default %(default)s)")
    g.add_argument("--reconnect-after", type=float, default=DEFAULT_RECONNECT_AFTER_S,
                   metavar="S", help="REQ: recreate the client after S seconds without a "
                                     "train (default %(default)s)")
    g.add_argument("--late-after", type=float, default=DEFAULT_LATE_AFTER_S, metavar="S",
                   help="a train older than S seconds at receipt is late (default %(default)s)")
    g = parser.add_argument_group("label-free change detection")
    g.add_argument("--changes", action="store_true",
                   help="alert when the spectra change, without references: names the train "
                        "and the estimated change point. False-alarm target: one per "
                        f"--false-alarm-hours (default {DEFAULT_ARL_HOURS:g} h) at "
                        f"--rate (default {DEFAULT_RATE_HZ:g} spectra/s)")
    g.add_argument("--window", type=int, default=DEFAULT_WINDOW, metavar="N",
                   help="a change that completes within N spectra is a change "
                        "(default %(default)s)")
    g.add_argument("--false-alarm-hours", type=float, default=DEFAULT_ARL_HOURS, metavar="H",
                   help="target: one false alarm per H hours at --rate (default %(default)s)")
    g.add_argument("--rate", type=float, default=DEFAULT_RATE_HZ, metavar="HZ",
                   help="spectra per second the target refers to (default %(default)g)")
    g = parser.add_argument_group("folder")
    g.add_argument("--poll", type=float, default=DEFAULT_POLL_S, metavar="S",
                   help="seconds between polls of the folder (default %(default)s)")
    g = parser.add_argument_group("results")
    g.add_argument("-o", "--out", metavar="FILE",
                   help="results.csv (appended, flushed per train) or results.nxs (NeXus)")
    g.add_argument("--checkpoint-every", type=int, default=DEFAULT_CHECKPOINT_EVERY,
                   metavar="N", help="NeXus: rewrite the file every N trains "
                                     "(default %(default)s)")
    g.add_argument("--alert-trains", type=int, default=DEFAULT_ALERT_TRAINS, metavar="N",
                   help="trains a new state must hold before an alert (default %(default)s)")
    g.add_argument("--plot", nargs="?", const="", metavar="FILE.png|FILE.html",
                   help="live view: a window, or a PNG/HTML file refreshed every few seconds")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, metavar="N",
                        help="BLAS threads while classifying (default %(default)s: leaves the "
                             "other cores to receiving the stream)")
    g = parser.add_argument_group("stopping")
    g.add_argument("--max-trains", type=int, metavar="N", help="stop after N trains")
    g.add_argument("--timeout", type=float, metavar="S",
                   help="stop when nothing arrived for S seconds")
    g.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")


def _line(summary, result, classes) -> str:
    trains_s, spectra_s = summary.rates()
    p50, p99 = summary.latency_percentiles()
    fractions = " ".join(
        f"{c} {result.fractions.get(c, float('nan')):.2f}" for c in classes
    )
    n_err = sum(summary.errors.values())
    return (f"train {result.train_id} | {trains_s:.1f} trains/s {spectra_s:.0f} spectra/s | "
            f"latency {result.latency * 1e3:.0f} ms (p99 {p99 * 1e3:.0f}) | "
            f"{result.state or '-'} conf {result.confidence:.2f} | {fractions} | "
            f"errors {n_err} skipped {summary.skipped} late {summary.late}")


class _BreakLine(logging.Filter):
    """Start log records on a fresh line while the live terminal line is shown."""

    def __init__(self, out):
        super().__init__()
        self.out = out
        self.active = False

    def filter(self, record) -> bool:
        if self.active:
            print(file=self.out)
            self.active = False
        return True


def _changes(args: argparse.Namespace):
    """The label-free ChangeDetector asked for, or None; refuses what cannot work."""
    from ..exceptions import StreamError as SpecstateError

    if not args.changes:
        if args.model is None:
            raise SpecstateError("watch needs a MODEL before the SOURCE, or --changes to "
                                 f"watch {args.source} label-free.")
        return None
    if args.model is None and (args.out or args.plot is not None):
        raise SpecstateError("-o and --plot write states and need a MODEL; label-free "
                             "change events are printed and in the summary.")
    from ..changes import ChangeDetector

    return ChangeDetector(args.window, arl_hours=args.false_alarm_hours, rate=args.rate)


def run(args: argparse.Namespace) -> int:
    """Run ``specstate watch``; Ctrl-C prints the summary and exits 0."""
    from ..stream import FolderSource, LivePlot, Watcher, open_sink
    from ..stream.results import change_text

    changes = _changes(args)
    if changes is not None:
        print(f"label-free change detection: a change completes within {args.window} "
              f"spectra; false-alarm target one per {args.false_alarm_hours:g} h at "
              f"{args.rate:g} spectra/s", file=sys.stderr)
    watcher = Watcher(
        args.model, args.source, changes=changes, source_name=args.source_name, key=args.key,
        monitor=args.monitor, min_monitor=args.min_monitor, sub=args.sub,
        alert_trains=args.alert_trains, max_trains=args.max_trains, duration=args.duration,
        idle_timeout=args.timeout, recv_timeout=args.recv_timeout, poll_interval=args.poll,
        late_after=args.late_after, reconnect_after=args.reconnect_after,
        threads=args.threads if args.threads > 0 else None,
    )
    classes = watcher.classes
    if isinstance(watcher.source, FolderSource):  # never read our own output as input
        watcher.source.exclude.update(Path(f).resolve() for f in (args.out, args.plot) if f)
    sink = None
    if args.out:
        sink = open_sink(args.out, classes, checkpoint_every=args.checkpoint_every,
                         metadata={"model": args.model, "source": args.source})
    plot = None
    if args.plot is not None:
        plot = LivePlot(args.plot or None, classes)
    out = sys.stderr
    tty = out.isatty()
    refresh = TTY_REFRESH_S if tty else PLAIN_REFRESH_S
    last_line = -float("inf")  # the first train is shown at once
    width = 0
    interrupted = False
    breaker = _BreakLine(out)
    handlers = logging.getLogger().handlers if tty else []
    for h in handlers:
        h.addFilter(breaker)
    try:
        for result in watcher:
            if sink is not None:
                sink.write(result)
            if result.model_reloaded:
                breaker.filter(None)
                print(f"model reloaded from {args.model} before train {result.train_id}",
                      file=out)
                classes = watcher.classes
            if result.alert is not None:
                breaker.filter(None)
                print(f"ALERT state change: {result.alert}", file=out)
            for event in result.changes:
                breaker.filter(None)
                print(f"ALERT {change_text(event)}", file=out)
            line = _line(watcher.summary, result, classes)
            if plot is not None:
                plot.update(result, status=line)
            now = time.monotonic()
            if now - last_line >= refresh:
                last_line = now
                if tty:
                    print("\r" + line.ljust(width), end="", file=out, flush=True)
                    width = len(line)
                    breaker.active = True
                else:
                    print(line, file=out, flush=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for h in handlers:
            h.removeFilter(breaker)
        if sink is not None:
            sink.close()
        if plot is not None:
            plot.close()
    if breaker.active:
        print(file=out)
    print(("interrupted; " if interrupted else "") + "summary of the watch:")
    print(watcher.summary.format())
    return 0
