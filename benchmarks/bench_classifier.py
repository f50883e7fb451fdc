"""Benchmark: specstate against its peers on cases that our own simulator cannot flatter.

Named cases (every row of issue 8's "What was seen" and more: XES and XRD ramps of specstate's
simulators over their ranges, spectra of independent generators, real measured sets shipped
in PyPI packages) plus random parameter draws. Per case: specstate with its defaults, the best
of five peers tuned by cross-validation on the same training split, the gap, the worst seed,
specstate without its linear member and with ``drift='run'`` (where the classifier has them),
whether it warned (ModelQualityWarning), the noise limit where the generator knows it, and the
held-out score the model reports. Balanced accuracy on held-out spectra, never on references.

Usage::

    python benchmarks/bench_classifier.py --quick                  # smoke run (<= 5 min)
    python benchmarks/bench_classifier.py                          # full table
    python benchmarks/bench_classifier.py --cases xes-pp200-drift powder-2state --seeds 3
    python benchmarks/bench_classifier.py --out benchmarks/results/classifier.json

Peer results are cached per case, seed and a hash of the case's parameters (and the peers'
version) in ``benchmarks/results/cache/<case>.json`` (committed: a few kB per case, so a
fresh checkout runs warm); ``--no-cache`` recomputes them.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402
from cases import CASES, N_DRAWS, N_DRAWS_QUICK, Case, Instance, random_draws  # noqa: E402
from peers import PEERS, PEERS_VERSION  # noqa: E402

log = logging.getLogger("bench")

N_SEEDS, N_SEEDS_QUICK = 5, 1  # seeds of a simulated case (data + references)
N_SPLITS, N_SPLITS_QUICK = 20, 2  # splits of a real set
CACHE_DIR = Path(__file__).resolve().parent / "results" / "cache"
# Done-when criteria of issue 8.
PEER_TOLERANCE = 0.005  # specstate >= best peer - 0.005 ...
PAIRED_SE_FACTOR, MAX_SE_CASES = 2.0, 3  # ... or within 2 paired SE in at most 3 cases
LIMIT_TOLERANCE = 0.02  # within 0.02 of the noise limit on photon-counting cases
WARN_MARGIN = 0.1  # must warn at <= chance + 0.1
NO_WARN_ABOVE = 0.9  # must not warn at >= 0.9
# Speed: a train-sized batch (EuXFEL: up to 2,700 pulses per train) of 4,000 points.
SPEED_BATCH, SPEED_POINTS = 2_700, 4_000
SPEED_REPEATS, LATENCY_REPEATS = 7, 50
WARM_UP_S = 0.5  # predict full batches this long before timing (thread pools spin down)


# ---------------------------------------------------------------------------- specstate
def _optional_features():
    """What the installed classifier offers of issue 8's new API (None when absent)."""
    import specstate.exceptions
    from specstate import SpectraClassifier

    params = SpectraClassifier().get_params()
    try:  # drift='run' is new in issue 8; scikit-learn's parameter check tells without a fit
        SpectraClassifier(drift="run")._validate_params()
        drift_run = True
    except Exception:
        drift_run = False
    return {
        "linear_member": "linear_member" in params,
        "drift_run": drift_run,
        "warning": getattr(specstate.exceptions, "ModelQualityWarning", None),
    }


def fit_specstate(inst: Instance, seed: int, features, **params) -> dict:
    """Fit SpectraClassifier(random_state=seed, **params) on the references, score the test."""
    from specstate import SpectraClassifier

    X, kwargs = inst.specstate_input()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = SpectraClassifier(random_state=seed, **params).fit(X, inst.y_train, **kwargs)
    fit_s = time.perf_counter() - t0
    pred = clf.predict(inst.X_test)
    out = {"score": float(balanced_accuracy_score(inst.y_test, np.asarray(pred).astype(str))),
           "fit_s": fit_s}
    warning_cls = features["warning"]
    out["warned"] = (None if warning_cls is None else
                     any(issubclass(w.category, warning_cls) for w in caught))
    heldout = getattr(clf, "heldout_score_", None)
    if isinstance(heldout, dict) and "balanced_accuracy" in heldout:
        out["heldout"] = float(heldout["balanced_accuracy"])
    return out


def _safe(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # a failing fit is a cell of its own, not a crash
        log.warning("failed: %s: %s", type(exc).__name__, exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


def run_specstate(inst: Instance, seed: int, features) -> dict:
    out = {"default": _safe(fit_specstate, inst, seed, features)}
    if features["linear_member"]:
        out["no_linear"] = _safe(fit_specstate, inst, seed, features, linear_member=False)
    if inst.run_order and inst.drifting:
        out["drift_run"] = (_safe(fit_specstate, inst, seed, features, drift="run")
                            if features["drift_run"] else {})
    return out


# ---------------------------------------------------------------------------- peers
def _cache_key(case: Case, params: dict, seed: int, peer: str) -> str:
    key = json.dumps({"case": case.name, "params": params, "seed": seed, "peer": peer,
                      "peers_version": PEERS_VERSION}, sort_keys=True, default=str)
    return f"seed{seed}-{peer}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def _read_cache(case: Case) -> dict:
    path = CACHE_DIR / f"{case.name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _write_cache(case: Case, entries: dict) -> None:
    """Merge `entries` into the case's cache file (atomically; older keys of the same seed
    and peer, from other parameters or peer versions, are dropped)."""
    cache = _read_cache(case)
    for key in entries:
        prefix = key.rsplit("-", 1)[0] + "-"
        cache = {k: v for k, v in cache.items() if not k.startswith(prefix)}
    cache.update(entries)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{case.name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(cache.items())), indent=0))
    tmp.replace(path)


def run_peer(key: str, inst: Instance, seed: int) -> dict:
    t0 = time.perf_counter()
    model = PEERS[key].make(seed).fit(np.asarray(inst.X_train), inst.y_train)
    fit_s = time.perf_counter() - t0
    pred = np.asarray(model.predict(np.asarray(inst.X_test))).astype(str)
    return {"score": float(balanced_accuracy_score(inst.y_test, pred)), "fit_s": fit_s}


def peer_results(case, params, inst, seed, peers, use_cache) -> dict:
    cache = _read_cache(case) if use_cache else {}
    out, new = {}, {}
    for peer in peers:
        key = _cache_key(case, params, seed, peer)
        if key in cache:
            out[peer] = {**cache[key], "cached": True}
            continue
        out[peer] = _safe(run_peer, peer, inst, seed)
        if "error" not in out[peer]:
            new[key] = out[peer]
    if new:
        _write_cache(case, new)
    return out


# ---------------------------------------------------------------------------- one case
def run_case(case: Case, seeds, peers, features, quick, use_cache) -> dict:
    params = case.params_for(quick)
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        inst = case.build(seed, **params)
        run = {"seed": seed, "n_train": len(inst.y_train), "n_test": len(inst.y_test),
               "n_points": int(inst.X_train.shape[1]), "n_classes": inst.n_classes,
               "input": inst.describe_input(), "noise_limit": inst.noise_limit,
               "specstate": run_specstate(inst, seed, features),
               "peers": peer_results(case, params, inst, seed, peers, use_cache)}
        runs.append(run)
        log.info("%-24s seed %2d  specstate %s  best peer %s  (%.0f s)", case.name, seed,
                 _fmt(run["specstate"]["default"].get("score")),
                 _fmt(max((p.get("score", -1) for p in run["peers"].values()), default=None)),
                 time.perf_counter() - t0)
    return {"name": case.name, "what": case.what, "source": case.source, "params": params,
            "photon_counting": case.photon_counting, "real": case.real, "seen": case.seen,
            "draw": case.draw, "runs": runs,
            "expect_chance": case.expect_chance,
            "summary": summarise(runs, peers, case.photon_counting, case.expect_chance)}


def _scores(runs, get):
    values = [get(r) for r in runs]
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


def _variant_score(name):
    return lambda r: r["specstate"].get(name, {}).get("score")


def summarise(runs, peers, photon_counting, expect_chance=False) -> dict:
    """Per-case numbers and the done-when markers (see the module notes)."""
    spec = _scores(runs, _variant_score("default"))
    peer_means = {k: float(np.nanmean(_scores(runs, lambda r, k=k: r["peers"][k].get("score"))))
                  for k in peers if any("score" in r["peers"].get(k, {}) for r in runs)}
    s = {"specstate": _nanmean(spec), "worst": _nanmin(spec),
         "fit_s": _nanmean(_scores(runs, lambda r: r["specstate"]["default"].get("fit_s"))),
         "errors": sum("error" in r["specstate"]["default"] for r in runs),
         "peers": peer_means}
    if peer_means:
        best = max(peer_means, key=peer_means.get)
        diff = spec - _scores(runs, lambda r: r["peers"][best].get("score"))
        s.update(best_peer=best, best_score=peer_means[best], gap=_nanmean(diff),
                 gap_se=(float(np.nanstd(diff, ddof=1) / np.sqrt(np.sum(~np.isnan(diff))))
                         if np.sum(~np.isnan(diff)) > 1 else None))
    for variant in ("no_linear", "drift_run"):
        if any(variant in r["specstate"] for r in runs):
            s[variant] = _nanmean(_scores(runs, _variant_score(variant)))
    limits = _scores(runs, lambda r: r["noise_limit"])
    s["noise_limit"] = _nanmean(limits)
    s["heldout"] = _nanmean(_scores(runs, lambda r: r["specstate"]["default"].get("heldout")))
    warned = [r["specstate"]["default"].get("warned") for r in runs]
    s["warned"] = None if all(w is None for w in warned) else int(sum(bool(w) for w in warned))
    s["n_runs"] = len(runs)
    s.update(markers(runs, s, photon_counting, expect_chance))
    return s


def _nanmean(v):
    v = np.asarray(v, dtype=float)
    return None if v.size == 0 or np.all(np.isnan(v)) else float(np.nanmean(v))


def _nanmin(v):
    v = np.asarray(v, dtype=float)
    return None if v.size == 0 or np.all(np.isnan(v)) else float(np.nanmin(v))


def markers(runs, s, photon_counting, expect_chance=False) -> dict:
    """'ok' / 'se' (within 2 paired SE) / 'FAIL' / None (not applicable) per criterion."""
    out = {}
    if s.get("gap") is not None and not expect_chance:  # random labels: no peer to beat
        if s["errors"]:  # a fit or predict that raised fails the case
            out["peer_mark"] = "FAIL"
        elif s["gap"] >= -PEER_TOLERANCE:
            out["peer_mark"] = "ok"
        elif s.get("gap_se") is not None and s["gap"] >= -PAIRED_SE_FACTOR * s["gap_se"]:
            out["peer_mark"] = "se"
        else:
            out["peer_mark"] = "FAIL"
    out["limit_mark"] = None
    if photon_counting and s["noise_limit"] is not None:
        score = s.get("drift_run") if s.get("drift_run") is not None else s["specstate"]
        if score is not None:
            out["limit_mark"] = "ok" if score >= s["noise_limit"] - LIMIT_TOLERANCE else "FAIL"
    bad = 0
    for r in runs:
        d = r["specstate"]["default"]
        if "score" not in d:
            continue
        chance = 1.0 / r["n_classes"]
        warned = bool(d.get("warned"))
        if (d["score"] <= chance + WARN_MARGIN and not warned) or (
                d["score"] >= NO_WARN_ABOVE and warned):
            bad += 1
    out["warn_mark"] = "ok" if bad == 0 else "FAIL"
    out["warn_bad_runs"] = bad
    return out


# ---------------------------------------------------------------------------- speed
def measure_speed(seed=0) -> dict:
    """specstate's throughput on 2,700 x 4,000 raw float32 spectra and one-spectrum latency."""
    from specstate import SpectraClassifier
    from specstate.datasets import simulate_xrd_ramp

    s = simulate_xrd_ramp(n_points=SPEED_POINTS, random_state=seed)
    n = len(s)
    train = np.r_[0, 1, n - 2, n - 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        model = SpectraClassifier(random_state=seed).fit(s[train], np.asarray(s.labels)[train])
        fit_s = time.perf_counter() - t0
    X = np.ascontiguousarray(s.intensity, np.float32)
    batch = np.ascontiguousarray(np.resize(X, (SPEED_BATCH, X.shape[1])))
    one = np.ascontiguousarray(batch[:1])
    model.predict(one)
    t_end = time.perf_counter() + WARM_UP_S
    while time.perf_counter() < t_end:
        model.predict(batch)
    batch_s = _median_time(lambda: model.predict(batch), SPEED_REPEATS)
    one_s = _median_time(lambda: model.predict(one), LATENCY_REPEATS)
    return {"throughput": SPEED_BATCH / batch_s, "latency_ms": 1e3 * one_s, "fit_s": fit_s}


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


# ---------------------------------------------------------------------------- tables
def _fmt(v, digits=3):
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"


MARK = {"ok": "✓", "se": "≈", "FAIL": "✗", None: ""}


def _warned_cell(s):
    return "–" if s["warned"] is None else f"{s['warned']}/{s['n_runs']}"


def case_table(results, peers) -> list[str]:
    head = ("| case | n | specstate | best peer | gap (±SE) | worst | w/o linear | "
            "drift='run' | warned | noise limit | held-out (model) | fit s | peer | limit "
            "| warn |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        s = r["summary"]
        gap = "–" if s.get("gap") is None else (
            f"{s['gap']:+.3f}" + (f" ±{s['gap_se']:.3f}" if s.get("gap_se") is not None else ""))
        best = ("–" if "best_peer" not in s
                else f"{PEERS[s['best_peer']].name} {_fmt(s['best_score'])}")
        drift = _fmt(s.get("drift_run")) if "drift_run" in s else ""
        failed = f" ({s['errors']} failed)" if s["errors"] else ""
        lines.append(
            f"| {r['name']}{' *' if r['seen'] else ''} | {s['n_runs']} | {_fmt(s['specstate'])}"
            f"{failed} | "
            f"{best} | {gap} | "
            f"{_fmt(s['worst'])} | {_fmt(s.get('no_linear'))} | {drift} | {_warned_cell(s)} | "
            f"{_fmt(s['noise_limit'])} | {_fmt(s['heldout'])} | {_fmt(s['fit_s'], 1)} | "
            f"{MARK[s.get('peer_mark')]} | {MARK[s.get('limit_mark')]} | "
            f"{MARK[s.get('warn_mark')]} |")
    return lines


def peers_table(results, peers) -> list[str]:
    lines = ["| case | specstate | " + " | ".join(PEERS[k].name for k in peers) + " |",
             "|---|---|" + "---|" * len(peers)]
    for r in results:
        s = r["summary"]
        cells = [_fmt(s["peers"].get(k)) for k in peers]
        lines.append(f"| {r['name']} | {_fmt(s['specstate'])} | " + " | ".join(cells) + " |")
    return lines


def legend_table(results) -> list[str]:
    lines = ["| case | what | data | input | refs / test per seed |", "|---|---|---|---|---|"]
    for r in results:
        run = r["runs"][0]
        lines.append(f"| {r['name']}{' *' if r['seen'] else ''} | {r['what']} | {r['source']} | "
                     f"{run['input']} | {run['n_train']} / {run['n_test']} x {run['n_points']} "
                     "pts |")
    return lines


def summary_lines(named, draws) -> list[str]:
    def count(rows, key, mark):
        return sum(r["summary"].get(key) == mark for r in rows)

    n = sum(r["summary"].get("peer_mark") is not None for r in named)
    se = count(named, "peer_mark", "se")
    peer_ok = count(named, "peer_mark", "ok")
    peer_fail = count(named, "peer_mark", "FAIL") + max(0, se - MAX_SE_CASES)
    limit_rows = [r for r in named if r["summary"].get("limit_mark")]
    lines = [
        f"- **peer criterion** (specstate >= best peer - {PEER_TOLERANCE}, or within "
        f"{PAIRED_SE_FACTOR:g} paired SE in at most {MAX_SE_CASES} cases): {peer_ok} ✓, "
        f"{se} ≈, {count(named, 'peer_mark', 'FAIL')} ✗ of {n} cases -> "
        f"{'PASS' if peer_fail == 0 else 'FAIL'}",
        f"- **noise-limit criterion** (within {LIMIT_TOLERANCE} on photon-counting cases; "
        f"drift='run' where reported): {count(limit_rows, 'limit_mark', 'ok')} ✓ of "
        f"{len(limit_rows)} -> "
        f"{'PASS' if count(limit_rows, 'limit_mark', 'FAIL') == 0 else 'FAIL'}",
        f"- **warning criterion** (warn on every seed scoring <= chance + {WARN_MARGIN}, on none "
        f"scoring >= {NO_WARN_ABOVE}): {count(named, 'warn_mark', 'ok')} ✓ of {len(named)} "
        "cases -> "
        f"{'PASS' if count(named, 'warn_mark', 'FAIL') == 0 else 'FAIL'}",
    ]
    if draws:
        gaps = np.asarray([r["summary"].get("gap", np.nan) for r in draws], dtype=float)
        gaps = gaps[~np.isnan(gaps)]
        if gaps.size:
            lines.append(
                f"- **random draws** ({len(draws)}): gap to the best peer min {gaps.min():+.3f}, "
                f"median {np.median(gaps):+.3f}; {int(np.sum(gaps >= -PEER_TOLERANCE))} of "
                f"{gaps.size} within {PEER_TOLERANCE}; noise limit met in "
                f"{count(draws, 'limit_mark', 'ok')} of "
                f"{sum(bool(r['summary'].get('limit_mark')) for r in draws)}; warning "
                f"criterion met in {count(draws, 'warn_mark', 'ok')} of {len(draws)}")
    return lines


def markdown(results, peers, speed, meta) -> str:
    named = [r for r in results if not r["draw"]]
    draws = [r for r in results if r["draw"]]
    out = ["## Classifier benchmark", "",
           f"Balanced accuracy on held-out spectra; mean over seeds (simulated: new data and "
           f"references per seed; real sets: new split per seed). `gap` = specstate - best "
           f"peer, ±SE = paired standard error over seeds; `worst` = specstate's worst seed; "
           f"markers: peer (✓ gap >= -{PEER_TOLERANCE}, ≈ within {PAIRED_SE_FACTOR:g} SE, ✗), "
           f"limit (within {LIMIT_TOLERANCE} of the noise limit), warn (ModelQualityWarning on "
           f"every seed <= chance + {WARN_MARGIN}, on none >= {NO_WARN_ABOVE}). `–`: the "
           f"installed classifier lacks the feature (or no limit is known).", "",
           "### Summary", "", *summary_lines(named, draws), ""]
    if speed:
        out += [f"- **speed** (specstate, default model of a 4-reference XRD fit): "
                f"{speed['throughput']:,.0f} spectra/s on {SPEED_BATCH:,} x {SPEED_POINTS:,} raw "
                f"float32 spectra to labels (median of {SPEED_REPEATS}); one spectrum "
                f"{speed['latency_ms']:.2f} ms; that fit {speed['fit_s']:.1f} s", ""]
    out += ["### Named cases (* = a row of issue 8's \"What was seen\")", "",
            *case_table(named, peers), ""]
    if draws:
        out += ["### Random parameter draws (one seed each)", "", *case_table(draws, peers), ""]
    out += ["### Every peer (mean balanced accuracy)", "", *peers_table(results, peers), "",
            "### Cases", "", *legend_table(named + draws), "",
            "### Peers", "", *[f"- {p.name}: {p.note}" for k, p in PEERS.items() if k in peers],
            "", "### Run", "",
            f"- Command: `{meta['command']}` ({meta['elapsed_s'] / 60:.1f} min; peer results "
            f"from the cache: {meta['cached_peer_results']} of {meta['peer_results']})",
            f"- Machine: {meta['cpu']}, {meta['cpus']} CPUs visible, {meta['platform']}",
            "- Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())]
    return "\n".join(out)


# ---------------------------------------------------------------------------- main
def _versions():
    from importlib.metadata import PackageNotFoundError, version

    import specstate

    out = {"python": platform.python_version(), "specstate": specstate.__version__}
    for pkg in ("numpy", "scipy", "scikit-learn", "torch", "aeon", "chemotools", "pyts",
                "sktime"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "absent"
    return out


def warm_up(peers) -> None:
    """Fit and predict every peer once on tiny data: numba JIT of MiniRocket, torch thread
    pools and lazy imports are then not billed to the first case."""
    rng = np.random.default_rng(0)
    X = rng.poisson(50, (12, 300)).astype(np.float32)
    y = np.repeat(["a", "b"], 6)
    for key in peers:
        _safe(lambda k=key: PEERS[k].make(0).fit(X, y).predict(X))


def select_cases(names, quick, n_draws) -> list[Case]:
    draws = random_draws(n_draws)
    by_name = {**CASES, **{c.name: c for c in draws}}
    if not names:
        return [*CASES.values(), *draws]
    chosen = []
    for name in names:
        if name == "draws":
            chosen += draws
        elif name in by_name:
            chosen.append(by_name[name])
        else:
            raise SystemExit(f"unknown case {name!r}; choose from {sorted(CASES)}, 'draws' or "
                             f"draw-NN")
    return chosen


def write(results, speed, start, args, features, partial) -> None:
    """Print (unless `partial`) and write the tables / JSON of the cases run so far."""
    meta = {
        "command": " ".join(["python benchmarks/bench_classifier.py", *args.argv]),
        "elapsed_s": time.perf_counter() - start,
        "partial": partial,
        "peer_results": sum(len(run["peers"]) for r in results for run in r["runs"]),
        "cached_peer_results": sum(bool(p.get("cached")) for r in results for run in r["runs"]
                                   for p in run["peers"].values()),
        "cpu": cpu_name(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "platform": platform.platform(),
        "versions": _versions(),
        "features": {"linear_member": features["linear_member"],
                     "drift_run": features["drift_run"],
                     "ModelQualityWarning": features["warning"] is not None},
    }
    text = markdown(results, args.peers, speed, meta)
    if partial:
        text = f"**Partial: {len(results)} cases so far.**\n\n" + text
    else:
        print(text)
    for path, content in ((args.out, None), (args.markdown, text)):
        if path is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(content if content is not None else json.dumps(
            {"meta": meta, "speed": speed, "cases": results}, indent=1, default=_json))
        tmp.replace(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {N_SEEDS_QUICK} seed per simulated case, "
                             f"{N_SPLITS_QUICK} splits per real set, {N_DRAWS_QUICK} draws, "
                             "smaller test sets")
    parser.add_argument("--cases", nargs="+", default=None, metavar="NAME",
                        help="only these cases ('draws' = all random draws)")
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"seeds per simulated case (default {N_SEEDS}); real sets get "
                             f"max(this, {N_SPLITS}) splits")
    parser.add_argument("--draws", type=int, default=None,
                        help=f"random parameter draws (default {N_DRAWS}, quick "
                             f"{N_DRAWS_QUICK})")
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    parser.add_argument("--out", type=Path, default=None, help="write every number as JSON")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables")
    parser.add_argument("--no-cache", action="store_true", help="recompute peer results")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed line")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    n_seeds = args.seeds or (N_SEEDS_QUICK if args.quick else N_SEEDS)
    n_splits = max(n_seeds, N_SPLITS_QUICK if args.quick else N_SPLITS)
    n_draws = args.draws if args.draws is not None else (N_DRAWS_QUICK if args.quick
                                                         else N_DRAWS)
    cases = select_cases(args.cases, args.quick, n_draws)
    features = _optional_features()
    start = time.perf_counter()
    warm_up(args.peers)
    results = []
    for case in cases:
        if case.draw:
            seeds = [int(case.name.split("-")[1])]
        else:
            seeds = range(n_splits if case.real else n_seeds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fit_specstate records its own warnings
            results.append(run_case(case, seeds, args.peers, features, args.quick,
                                    not args.no_cache))
        if args.markdown is not None:  # a partial table survives an interrupted run
            write(results, None, start, args, features, partial=True)
    speed = None if args.no_speed else _safe(measure_speed)
    if speed and "error" in speed:
        speed = None
    write(results, speed, start, args, features, partial=False)
    return 0


def _json(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
