"""Sustained rate, latency and memory of `specstate watch` on a Karabo bridge stream.

A karabo-bridge server (``karabo_bridge.ServerInThread``, in a separate process so it does not
share the GIL) streams simulated trains of N_PULSES float32 spectra of N_POINTS points on
127.0.0.1 at a target rate; the watch loop (``specstate.stream.Watcher``, SUB socket by
default) classifies them. Prints trains received/skipped/late, the sustained rate, the
per-train latency p50/p99 (from receipt to result) and the resident memory (start, end, slope
of a linear fit in MB/hour).

Target (issue 4): 10 trains/s x 2,700 spectra x 4,000 points with margin: 1.5x (15 trains/s)
for 10 minutes without skipped trains, p99 latency < 200 ms, flat memory.

    python benchmarks/bench_stream.py                 # 15 trains/s for 600 s
    python benchmarks/bench_stream.py --quick         # 20 s
    python benchmarks/bench_stream.py --rate 10 --duration 120 --model model.h5
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import threading
import time

import numpy as np

FACILITY_RATE = 10.0  # EuXFEL trains per second
TARGET_RATE = 1.5 * FACILITY_RATE
TARGET_P99_S = 0.200
N_PULSES = 2700
N_POINTS = 4000
QUICK_DURATION_S = 20.0
FULL_DURATION_S = 600.0
SOURCE = "SPEC_SIM/SPECTROMETER/DETECTOR:output"
KEY = "data.spectrum"
FIRST_TRAIN_ID = 10_000
# Distinct trains pre-computed per state and cycled (the server must not spend CPU making data).
TEMPLATES_PER_STATE = 2
# Seconds the server waits for the subscriber to connect before it starts publishing.
CONNECT_WAIT_S = 1.5
# Seconds between two resident-memory samples; the first WARMUP_FRACTION of them is not fitted.
RSS_EVERY_S = 1.0
WARMUP_FRACTION = 0.1
RSS_WINDOW = 10  # samples per window whose minimum is the resident baseline
MODEL_REFERENCES = 40  # simulated reference patterns to fit the model on
RANDOM_STATE = 0
CLASSIFY_REPEATS = 5  # timings of the classifier alone on one train
DRAIN_WAIT_S = 5.0  # how long the server waits for its last trains to be taken


def _patterns(n_points: int, n_patterns: int, random_state: int):
    """Simulated XRD patterns of the two end states (bcc, hcp) and the axis."""
    from specstate.datasets import simulate_xrd_ramp

    s = simulate_xrd_ramp(n_patterns=n_patterns, n_points=n_points,
                          transition=(n_patterns // 2 - 2, n_patterns // 2 + 2),
                          random_state=random_state)
    keep = np.isin(s.labels, ["bcc", "hcp"])
    return s.intensity[keep].astype(np.float32), np.asarray(s.labels[keep]), s.axis


def _templates(n_pulses: int, n_points: int, random_state: int):
    """Trains of each state: reference patterns resampled to n_pulses shots, with noise."""
    rng = np.random.default_rng(random_state)
    x, y, _ = _patterns(n_points, MODEL_REFERENCES, random_state + 1)
    trains = {}
    for state in ("bcc", "hcp"):
        base = x[y == state]
        trains[state] = []
        for _ in range(TEMPLATES_PER_STATE):
            rows = base[rng.integers(0, len(base), n_pulses)]
            noise = rng.standard_normal(rows.shape, dtype=np.float32)
            trains[state].append(rows + noise * np.sqrt(np.maximum(rows, 1.0)))
    return trains


def serve(queue, go, stop, rate, duration, n_pulses, n_points, sock, random_state):
    """Server process: publish trains at `rate` until `duration` or `stop`."""
    from karabo_bridge import ServerInThread

    trains = _templates(n_pulses, n_points, random_state)
    server = ServerInThread("tcp://127.0.0.1:*", sock=sock, maxlen=1, dummy_timestamps=True)
    server.start()
    queue.put(server.endpoint)
    go.wait()
    n_total = int(round(rate * duration))
    t0 = time.perf_counter()
    sent = 0
    for i in range(n_total):
        if stop.is_set():
            break
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        state = "bcc" if i < n_total // 2 else "hcp"
        data = trains[state][i % TEMPLATES_PER_STATE]
        tid = FIRST_TRAIN_ID + i
        server.feed({SOURCE: {KEY: data}}, {SOURCE: {"timestamp.tid": tid}})
        sent += 1
    queue.put(("sent", sent, time.perf_counter() - t0))
    deadline = time.perf_counter() + DRAIN_WAIT_S
    while not server.buffer.empty() and time.perf_counter() < deadline:
        time.sleep(0.05)  # REQ: the last trains leave when the client asks for them
    time.sleep(0.5)
    server.stop()


def build_model(n_points: int, path: str | None):
    """The classifier: loaded from `path`, or fitted on simulated reference patterns."""
    from specstate import SpectraClassifier

    if path:
        return SpectraClassifier.load(path)
    x, y, axis = _patterns(n_points, MODEL_REFERENCES, RANDOM_STATE + 1)
    return SpectraClassifier(random_state=RANDOM_STATE).fit(x, y, axis=axis)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="trains per second")
    parser.add_argument("--duration", type=float, default=FULL_DURATION_S, help="seconds")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DURATION_S:g} s run")
    parser.add_argument("--pulses", type=int, default=N_PULSES, help="spectra per train")
    parser.add_argument("--points", type=int, default=N_POINTS, help="points per spectrum")
    parser.add_argument("--req", action="store_true", help="REQ/REP instead of SUB/PUB")
    parser.add_argument("--model", help="saved SpectraClassifier (default: fit one)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads while classifying (0: library default)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    duration = QUICK_DURATION_S if args.quick else args.duration

    import psutil

    from specstate.stream import Watcher

    proc = psutil.Process()
    t_fit = time.perf_counter()
    model = build_model(args.points, args.model)
    t_fit = time.perf_counter() - t_fit

    # the classifier alone on one train, for reference (the loop cannot beat it), called as
    # the loop calls it (with the model's stream tracker, when it has one)
    x = _templates(args.pulses, args.points, RANDOM_STATE + 2)["bcc"][0]
    from threadpoolctl import threadpool_limits

    t_cls = []
    tracker = model.stream_tracker()
    with threadpool_limits(limits=args.threads or None, user_api="blas"):
        model.classify(x, tracker=tracker)
        for _ in range(CLASSIFY_REPEATS):
            t0 = time.perf_counter()
            model.classify(x, tracker=tracker)
            t_cls.append(time.perf_counter() - t0)
    t_cls = float(np.median(t_cls))
    del x

    ctx = mp.get_context("spawn")
    queue, go, stop = ctx.Queue(), ctx.Event(), ctx.Event()
    server = ctx.Process(target=serve, daemon=True, args=(
        queue, go, stop, args.rate, duration, args.pulses, args.points,
        "REP" if args.req else "PUB", RANDOM_STATE))
    server.start()
    endpoint = queue.get(timeout=300)

    watcher = Watcher(model, endpoint, source_name=SOURCE, key=KEY, sub=not args.req,
                      duration=duration + 30, idle_timeout=3.0, recv_timeout=0.5,
                      alert_trains=3, threads=args.threads or None)
    threading.Timer(CONNECT_WAIT_S, go.set).start()

    latencies, tids = [], []
    rss_t, rss = [], []
    t_start = time.perf_counter()
    rss_t.append(0.0)
    rss.append(proc.memory_info().rss)
    t_first = t_last = None
    try:
        for r in watcher:
            now = time.perf_counter()
            if r.state is not None:
                latencies.append(r.latency)
                tids.append(r.train_id)
                t_first = now if t_first is None else t_first
                t_last = now
            if now - t_start - rss_t[-1] >= RSS_EVERY_S:
                rss_t.append(now - t_start)
                rss.append(proc.memory_info().rss)
    except KeyboardInterrupt:
        stop.set()
    rss_t.append(time.perf_counter() - t_start)
    rss.append(proc.memory_info().rss)
    stop.set()
    sent = None
    try:
        while True:
            msg = queue.get(timeout=5)
            if isinstance(msg, tuple) and msg[0] == "sent":
                sent = msg[1]
                break
    except Exception:  # noqa: BLE001 - the server may have ended already
        pass
    server.join(timeout=10)

    s = watcher.summary
    n = len(latencies)
    span = (t_last - t_first) if n > 1 else float("nan")
    rate = (n - 1) / span if n > 1 else float("nan")
    lat = np.asarray(latencies) * 1e3
    t = np.asarray(rss_t)
    m = np.asarray(rss) / 2**20
    fit = t >= WARMUP_FRACTION * t[-1]
    slope = float(np.polyfit(t[fit], m[fit], 1)[0] * 3600) if fit.sum() >= 3 else float("nan")
    # trains of tens of MB come and go: the floor of each window is the resident baseline
    tw, mw = t[fit], m[fit]
    k = len(tw) // RSS_WINDOW
    if k >= 3:
        tw = tw[: k * RSS_WINDOW].reshape(k, RSS_WINDOW).mean(axis=1)
        mw = mw[: k * RSS_WINDOW].reshape(k, RSS_WINDOW).min(axis=1)
        floor_slope = float(np.polyfit(tw, mw, 1)[0] * 3600)
    else:
        floor_slope = float("nan")
    missing = (sent - s.trains) if sent is not None else None
    out = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, "
                   f"{os.cpu_count()} CPUs",
        "socket": "REQ" if args.req else "SUB", "blas_threads": args.threads or None,
        "target_rate": args.rate, "duration_s": duration,
        "pulses": args.pulses, "points": args.points, "model_fit_s": round(t_fit, 1),
        "classify_one_train_ms": round(t_cls * 1e3, 1),
        "trains_sent": sent, "trains_received": s.trains, "trains_classified": n,
        "trains_skipped": s.skipped, "trains_dropped_behind": s.dropped,
        "trains_late": s.late, "trains_lost_total": missing,
        "errors": dict(s.errors), "alerts": [str(a) for a in s.alerts],
        "rate_trains_s": round(rate, 2) if n > 1 else None,
        "rate_spectra_s": round(rate * args.pulses) if n > 1 else None,
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 1) if n else None,
        "latency_p99_ms": round(float(np.percentile(lat, 99)), 1) if n else None,
        "latency_max_ms": round(float(lat.max()), 1) if n else None,
        "rss_start_mb": round(float(m[0]), 1), "rss_end_mb": round(float(m[-1]), 1),
        "rss_slope_mb_per_hour": round(slope, 1),
        "rss_floor_slope_mb_per_hour": round(floor_slope, 1),
    }
    ok_rate = n > 1 and rate >= 0.98 * args.rate
    ok_skip = s.skipped == 0 and (missing in (0, None))
    ok_lat = n > 0 and out["latency_p99_ms"] < TARGET_P99_S * 1e3
    out["pass"] = {"rate": bool(ok_rate), "no_skipped": bool(ok_skip),
                   "p99_latency": bool(ok_lat)}
    print(f"machine: {out['machine']}")
    print(f"stream: {args.rate:g} trains/s x {args.pulses} spectra x {args.points} points "
          f"float32, {out['socket']} socket, {duration:g} s, BLAS threads "
          f"{args.threads or 'default'} (model fitted in {t_fit:.1f} s)")
    print(f"classifier alone: {t_cls * 1e3:.1f} ms per train (at most "
          f"{1 / t_cls:.1f} trains/s on this machine now)")
    print(f"trains sent {sent}, received {s.trains}, classified {n}, skipped {s.skipped} "
          f"({s.dropped} of them dropped by the loop while behind), "
          f"late {s.late}, lost in total {missing}, errors {dict(s.errors) or 0}")
    print(f"sustained rate: {rate:.2f} trains/s = {rate * args.pulses:.0f} spectra/s "
          f"[{'ok' if ok_rate else 'BELOW'} target {args.rate:g}]")
    if n:
        print(f"latency per train (receipt -> result): p50 {out['latency_p50_ms']} ms, "
              f"p99 {out['latency_p99_ms']} ms, max {out['latency_max_ms']} ms "
              f"[{'ok' if ok_lat else 'ABOVE'} target {TARGET_P99_S * 1e3:.0f} ms]")
    print(f"resident memory: start {out['rss_start_mb']} MB, end {out['rss_end_mb']} MB, "
          f"slope {out['rss_slope_mb_per_hour']} MB/hour (linear fit of {int(fit.sum())} "
          f"samples after the first {WARMUP_FRACTION:.0%}; meaningful for long runs); "
          f"slope of the {RSS_WINDOW}-sample floors {out['rss_floor_slope_mb_per_hour']} "
          "MB/hour")
    print(f"alerts: {out['alerts']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


if __name__ == "__main__":
    main()
