"""The report and the live page: report time and size for 10^6 spectra, the watch loop's rate
with a page subscribed, and the page's update latency.

1. **Report**: a NeXus results file of 10^6 spectra (371 trains x 2,700 pulses, 4,000-point
   spectra's per-state means, a few unknown spectra) and the same run as a CSV table; times
   ``specstate report`` end to end (a fresh process: imports, reading, aggregating, writing)
   and measures the file. Target: <= 30 s and <= 10 MB.
2. **Live loop**: a karabo-bridge server (own process, REP socket, offering more trains than
   the loop can take) streams trains of 2,700 x 4,000 float32 spectra; the watch loop
   (``Watcher``) classifies them for a while without the page, then with a served
   :class:`~specstate.stream.page.LivePage` and a subscribed client (its own process, like a
   browser, reading the server-sent events). Target: >= 27,000 spectra/s with the page.
3. **Update latency**: for every train the client sees, the time from the loop's ``publish``
   to the event's arrival at the client (one clock: CLOCK_MONOTONIC is system-wide). By
   design at most 1 / MAX_UPDATES_PER_S (0.5 s) plus the push.

The loop's rate is bounded by the classifier itself (printed as "classifier alone"); the
model is fitted as in bench_stream.py, by default with ``drift=None``: the drift stage of
"Classifier v2" (in progress) costs seconds per 2,700 x 4,000 train today, which would hide
what this benchmark is about (what the page costs the loop). ``--drift auto`` measures with
it.

    python benchmarks/bench_report.py                  # ~4 min on 2 cores (fits a model)
    python benchmarks/bench_report.py --model model.h5 --duration 20 --json out.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_stream import KEY, SOURCE, _patterns, _templates, serve  # noqa: E402

N_SPECTRA = 1_000_000
N_PULSES = 2700
N_POINTS = 4000
TARGET_REPORT_S = 30.0
TARGET_REPORT_MB = 10.0
TARGET_SPECTRA_S = 27_000
#: Trains/s the server offers: more than the loop can take, so the loop sets the rate.
OFFERED_RATE = 30.0
DEFAULT_DURATION_S = 25.0
UNKNOWN_FRACTION = 0.002
RANDOM_STATE = 0
CONNECT_WAIT_S = 1.5


# ----------------------------------------------------------------------------- 1. report
def _run_of(n: int, classes, rng):
    from specstate.results import Classification

    n_trains = -(-n // N_PULSES)
    tids = np.repeat(np.arange(n_trains, dtype=np.int64) + 10_000, N_PULSES)[:n]
    pulses = np.tile(np.arange(N_PULSES), n_trains)[:n]
    p_hcp = 1 / (1 + np.exp(-(np.arange(n) - n / 2) / (n / 50)))
    p_hcp = np.clip(p_hcp + rng.normal(0, 0.05, n), 0, 1)
    proba = np.stack([1 - p_hcp, p_hcp], axis=1).astype(np.float32)
    labels = np.asarray(classes)[proba.argmax(1)]
    novel = rng.random(n) < UNKNOWN_FRACTION
    return Classification(labels, proba, proba.max(1), np.abs(proba[:, 0] - 0.5) < 0.1,
                          np.asarray(classes), novelty=rng.random(n).astype(np.float32),
                          novel=novel, train_ids=tids, pulse_ids=pulses,
                          spectrum_index=np.arange(n))


def bench_report(model, model_path: Path, folder: Path) -> list[dict]:
    from specstate.io.results import NexusResults, write_results
    from specstate.means import StateMeans

    rng = np.random.default_rng(RANDOM_STATE)
    classes = [str(c) for c in model.classes_]
    run = _run_of(N_SPECTRA, classes, rng)
    nxs = folder / "run.nxs"
    out = NexusResults(nxs, classes, model=model, model_path=model_path, program="bench")
    step = 100 * N_PULSES
    from specstate.io._result_tables import summarize_trains

    for lo in range(0, N_SPECTRA, step):
        part = run[lo:lo + step]
        out.append(part, summarize_trains(part))
    refs = np.asarray(model.reference_mean_, float)
    counts = np.array([*(np.sum((run.labels == c) & ~run.novel) for c in classes),
                       run.novel.sum()], np.int64)
    sums = np.vstack([refs, refs.mean(0, keepdims=True)]) * counts[:, None]
    out.write_state_means(StateMeans(classes, sums, counts), axis=model.axis_,
                          axis_name=model.axis_name_, axis_unit=model.axis_unit_)
    csv = write_results(folder / "run.csv", run)
    rows = []
    for name, extra in (("NeXus", []), ("CSV", ["--model", str(model_path)])):
        src = nxs if name == "NeXus" else csv
        html = folder / f"report-{name}.html"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "specstate", "report", str(src), "-o", str(html),
                        *extra], check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        mb = html.stat().st_size / 1e6
        rows.append({"input": f"{N_SPECTRA:,} spectra, {name} results "
                              f"({src.stat().st_size / 1e6:.0f} MB)",
                     "report_s": round(seconds, 1), "report_mb": round(mb, 2),
                     "pass": seconds <= TARGET_REPORT_S and mb <= TARGET_REPORT_MB})
    return rows


# ----------------------------------------------------------------------------- 2./3. live
def _client(url_host, port, out_queue, stop):
    """A subscribed page: reads the event stream, records (arrival, train id, version)."""
    seen = []
    conn = http.client.HTTPConnection(url_host, port, timeout=30)
    conn.request("GET", "/events")
    r = conn.getresponse()
    while not stop.is_set():
        line = r.fp.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            now = time.monotonic()
            p = json.loads(line[6:])
            seen.append((now, p["train_id"], p["version"]))
    conn.close()
    out_queue.put(seen)


def _loop(model, endpoint, duration, page=None):
    from specstate.stream import Watcher

    watcher = Watcher(model, endpoint, source_name=SOURCE, key=KEY, sub=False,
                      duration=duration, idle_timeout=5.0, recv_timeout=0.5, threads=1)
    published = {}
    n = 0
    t_first = t_last = None
    for r in watcher:
        if page is not None:
            published[r.train_id] = time.monotonic()
            page.publish(r)
        if r.state is not None:
            now = time.perf_counter()
            t_first = now if t_first is None else t_first
            t_last = now
            n += 1
    rate = (n - 1) * N_PULSES / (t_last - t_first) if n > 1 else float("nan")
    if n < 2:
        print(f"too few trains classified: {watcher.summary.format()}")
    return rate, n, published


def bench_live(model, duration: float) -> dict:
    from specstate.stream.page import LivePage

    ctx = mp.get_context("spawn")
    result = {}
    for mode in ("without page", "with page + subscribed client"):
        queue, go, stop = ctx.Queue(), ctx.Event(), ctx.Event()
        server = ctx.Process(target=serve, daemon=True, args=(
            queue, go, stop, OFFERED_RATE, duration + 10, N_PULSES, N_POINTS, "REP",
            RANDOM_STATE))
        server.start()
        endpoint = queue.get(timeout=300)
        page = client = None
        if mode != "without page":
            page = LivePage(model, serve=("127.0.0.1", 0)).start()
            host, port = page._socket.getsockname()[:2]
            cq, cstop = ctx.Queue(), ctx.Event()
            client = ctx.Process(target=_client, args=(host, port, cq, cstop), daemon=True)
            client.start()
            time.sleep(1.0)
        threading.Timer(CONNECT_WAIT_S, go.set).start()
        rate, n, published = _loop(model, endpoint, duration, page)
        stop.set()
        server.join(timeout=15)
        row = {"spectra_s": round(rate) if n > 1 else None, "trains": n}
        if page is not None:
            time.sleep(1.0)  # the last push
            cstop.set()
            page.close()
            seen = cq.get(timeout=30)
            client.join(timeout=10)
            first = {}
            for t, tid, _ in seen:  # when each train first showed on the page
                first.setdefault(tid, t)
            lat = [t - published[tid] for tid, t in first.items() if tid in published]
            row["latencies_s"] = [round(v, 3) for v in lat]
            gaps = np.diff([t for t, _, _ in seen])
            row.update(updates=len(seen),
                       min_gap_s=round(float(gaps.min()), 3) if gaps.size else None,
                       latency_p50_s=round(float(np.percentile(lat, 50)), 3) if lat else None,
                       latency_max_s=round(float(np.max(lat)), 3) if lat else None)
        result[mode] = row
    return result


def build_model(path, drift):
    """Load `path`, or fit on simulated references as bench_stream.py does."""
    from specstate import SpectraClassifier

    if path:
        return SpectraClassifier.load(path)
    x, y, axis = _patterns(N_POINTS, 40, RANDOM_STATE + 1)
    return SpectraClassifier(random_state=RANDOM_STATE, drift=drift).fit(x, y, axis=axis)


def classify_alone(model) -> float:
    """Seconds per train of the classifier alone (one BLAS thread, as in the loop)."""
    from threadpoolctl import threadpool_limits

    x = _templates(N_PULSES, N_POINTS, RANDOM_STATE + 2)["bcc"][0]
    with threadpool_limits(limits=1, user_api="blas"):
        model.classify(x)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            model.classify(x)
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="saved SpectraClassifier of 4,000 points "
                                        "(default: fit one, as bench_stream.py does)")
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S,
                        help="seconds of each live run (default %(default)s)")
    parser.add_argument("--skip-live", action="store_true", help="only the report")
    parser.add_argument("--skip-report", action="store_true", help="only the live loop")
    parser.add_argument("--drift", choices=("none", "auto"), default="none",
                        help="the fitted model's drift stage (default none, see above)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        model = build_model(args.model, None if args.drift == "none" else "auto")
        alone = classify_alone(model)
        model_path = Path(args.model) if args.model else folder / "model.h5"
        if not args.model:
            model.save(model_path)
        report = [] if args.skip_report else bench_report(model, model_path, folder)
        live = {} if args.skip_live else bench_live(model, args.duration)
    machine = (f"{platform.node()} {platform.processor() or platform.machine()}, "
               f"{os.cpu_count()} CPUs")
    print(f"machine: {machine}")
    if report:
        print("\n| report of | time (s) | size (MB) | target ≤ 30 s, ≤ 10 MB |")
        print("|---|---|---|---|")
    for r in report:
        print(f"| {r['input']} | {r['report_s']} | {r['report_mb']} | "
              f"{'ok' if r['pass'] else 'MISSED'} |")
    print(f"\nclassifier alone: {alone * 1e3:.0f} ms per train = "
          f"{N_PULSES / alone:,.0f} spectra/s (model drift: {args.drift})")
    if live:
        print(f"\n| watch loop, {N_PULSES} x {N_POINTS} float32 trains (REQ, bridge in its "
              "own process) | spectra/s | trains | page updates (shortest gap, s) | update latency "
              "p50 / max (s) |")
        print("|---|---|---|---|---|")
        for mode, r in live.items():
            ok = "" if "updates" not in r else (
                " ok" if r["spectra_s"] >= TARGET_SPECTRA_S else " BELOW 27,000")
            upd = f"{r['updates']} ({r['min_gap_s']})" if "updates" in r else "–"
            lat = (f"{r['latency_p50_s']} / {r['latency_max_s']}" if "updates" in r
                   else "–")
            print(f"| {mode} | {r['spectra_s']:,}{ok} | {r['trains']} | {upd} | {lat} |")
    out = {"machine": machine, "report": report, "live": live,
           "classify_one_train_s": alone, "drift": args.drift}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
