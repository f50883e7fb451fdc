"""``specstate watch [MODEL] SOURCE``: classify a live bridge stream or a growing folder.

With ``--changes`` label-free change events are raised beside the state changes; with a
single positional argument (the source) and ``--changes`` the watch is label-free only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HELP = "classify a live Karabo bridge stream or a folder of new files, train by train"

#: With output to a file or pipe, one line per train, but at most this many per second (at
#: high rates one line per few trains; alerts and reloads always get their line).
PLAIN_LINES_PER_S = 10.0
#: BLAS threads while classifying: one, so that receiving the stream keeps its own cores
#: (measured faster than two on a 2-core machine with the bridge server on it).
DEFAULT_THREADS = 1


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate watch``."""
    from ..changes._online import DEFAULT_WINDOW
    from ..changes._threshold import DEFAULT_ARL_HOURS, DEFAULT_RATE_HZ
    from ..stream.loop import DEFAULT_ALERT_TRAINS, DEFAULT_LATE_AFTER_S, DEFAULT_UNKNOWN_ALERT
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
                   metavar="N", help="NeXus: append to the file every N trains "
                                     "(default %(default)s)")
    g.add_argument("--alert-trains", type=int, default=DEFAULT_ALERT_TRAINS, metavar="N",
                   help="trains a new state must hold before an alert (default %(default)s)")
    g.add_argument("--unknown-alert", type=float, default=DEFAULT_UNKNOWN_ALERT, metavar="F",
                   help="alert when at least this share of a train's spectra is unlike every "
                        "fitted state for --alert-trains trains (default %(default)s)")
    g.add_argument("--plot", nargs="?", const="", metavar="FILE.png|FILE.html",
                   help="live view: a window, a PNG, or FILE.html: a snapshot of the live "
                        "page, rewritten every few seconds")
    g.add_argument("--serve", metavar="[HOST:]PORT",
                   help="serve the live page (read-only) on PORT, on 127.0.0.1 unless HOST "
                        "is given (e.g. 0.0.0.0:8050 for the control room)")
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
    fractions = " ".join(
        f"{c} {result.fractions.get(c, float('nan')):.2f}" for c in classes
    )
    n_err = sum(summary.errors.values())
    name = f" {result.name}" if result.name else ""
    unknown = f" unknown {result.unknown}" if result.unknown else ""
    return (f"train {result.train_id}{name}: {result.state or '-'} conf "
            f"{result.confidence:.2f} | {fractions}{unknown} | {trains_s:.1f} trains/s "
            f"{spectra_s:.0f} spectra/s | latency {result.latency * 1e3:.0f} ms | "
            f"errors {n_err} skipped {summary.skipped} late {summary.late}")


class _Terminal:
    """Where watch reports each train: a tqdm bar on a terminal, plain lines otherwise."""

    def __init__(self, out):
        self.out = out
        self.tty = out.isatty()
        self._bar = None
        self._last = -float("inf")
        self._redirect = None
        if self.tty:
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._bar = tqdm(unit="train", file=out, dynamic_ncols=True, leave=True)
            self._redirect = logging_redirect_tqdm()  # log records above the bar
            self._redirect.__enter__()

    def note(self, text: str) -> None:
        """A line of its own (alerts, reloads)."""
        if self._bar is not None:
            self._bar.write(text, file=self.out)
        else:
            print(text, file=self.out, flush=True)

    def train(self, line: str) -> None:
        """One train's status."""
        if self._bar is not None:
            self._bar.set_postfix_str(line, refresh=False)
            self._bar.update(1)
            return
        now = time.monotonic()
        if now - self._last >= 1.0 / PLAIN_LINES_PER_S:
            self._last = now
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        """End the bar."""
        if self._bar is not None:
            self._bar.close()
            self._redirect.__exit__(None, None, None)
            self._bar = None


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
    from ._common import check_output

    out_file = plot_file = None
    if args.out:
        out_file = check_output(args.out, ("results",))
    if args.plot:
        plot_file = check_output(args.plot, ("plot",), option="--plot")
    serve = None
    if args.serve is not None:
        from ..stream.page import parse_serve
        from ._common import require

        serve = parse_serve(args.serve)
        for module in ("bokeh", "starlette", "uvicorn"):
            require(module, "serve", "The live page (--serve)")
    from ..stream.results import change_text

    changes = _changes(args)
    if changes is not None:
        print(f"label-free change detection: a change completes within {args.window} "
              f"spectra; false-alarm target one per {args.false_alarm_hours:g} h at "
              f"{args.rate:g} spectra/s", file=sys.stderr)
    watcher = Watcher(
        args.model, args.source, changes=changes, source_name=args.source_name, key=args.key,
        monitor=args.monitor, min_monitor=args.min_monitor, sub=args.sub,
        alert_trains=args.alert_trains, unknown_alert=args.unknown_alert,
        max_trains=args.max_trains, duration=args.duration,
        idle_timeout=args.timeout, recv_timeout=args.recv_timeout, poll_interval=args.poll,
        late_after=args.late_after, reconnect_after=args.reconnect_after,
        threads=args.threads if args.threads > 0 else None,
    )
    classes = watcher.classes
    if isinstance(watcher.source, FolderSource):  # never read our own output as input
        watcher.source.exclude.update(Path(f).resolve() for f in (args.out, args.plot) if f)
    plot = page = None
    snapshot = plot_file is not None and plot_file.path.suffix.lower() == ".html"
    if snapshot:
        from ._common import require

        require("bokeh", "report", "The live page snapshot (--plot FILE.html)")
    if args.plot is not None:
        if plot_file is not None:
            plot_file.create_parent()
        if not snapshot:
            plot = LivePlot(args.plot or None, classes)
    if serve is not None or snapshot:
        from ..stream.page import LivePage

        page = LivePage(watcher.model.clf, serve=serve,
                        snapshot=plot_file.path if snapshot else None).start()
        if page.url:
            print(f"live page: {page.url}", flush=True)
    sink = None
    if out_file is not None:  # after the page: a busy port leaves no results file behind
        out_file.create_parent()
        try:
            sink = open_sink(out_file.path, classes, checkpoint_every=args.checkpoint_every,
                             metadata={"model": args.model, "source": args.source},
                             model=watcher.model.clf)
        except BaseException:
            if page is not None:
                page.close()
            raise
    term = _Terminal(sys.stdout)
    interrupted = False
    try:
        for result in watcher:
            if sink is not None:
                sink.write(result)
            if page is not None:
                if result.model_reloaded:
                    page.set_model(watcher.model.clf)
                page.publish(result)
            if result.model_reloaded:
                term.note(f"model reloaded from {args.model} before train {result.train_id}")
                classes = watcher.classes
            if result.alert is not None:
                term.note(f"ALERT state change: {result.alert}")
            for event in result.changes:
                term.note(f"ALERT {change_text(event)}")
            if result.unknown_alert is not None:
                term.note(f"ALERT {result.unknown_alert}")
            line = _line(watcher.summary, result, classes)
            if plot is not None:
                plot.update(result, status=line)
            term.train(line)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        term.close()
        if sink is not None:
            sink.close()
        if plot is not None:
            plot.close()
        if page is not None:
            page.close()
    print(("interrupted; " if interrupted else "") + "summary of the watch:")
    print(watcher.summary.format())
    return 0
