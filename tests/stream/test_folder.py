"""Watching a folder where files appear, and reloading a model file that is replaced."""

import logging
import os
import shutil
import threading
import time

import numpy as np
import pytest

from specstate import io
from specstate.stream import FolderSource, Idle, watch

from .conftest import TINY

POLL = 0.4  # seconds between polls in these tests
CHUNK_PAUSE = 0.002  # a slow writer appends a chunk this often: far below one poll


def _one(xrd, state, i=0, n=1):
    idx = np.flatnonzero(xrd.labels == state)[i:i + n]
    return xrd[idx]


def _file_bytes(spectra, tmp_path, name):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    path = io.write(spectra, scratch / name)
    return path.read_bytes()


def test_files_appearing_while_watching_are_read_once_in_natural_order(xrd, model, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    io.write(_one(xrd, "bcc", 0), folder / "scan_1.xy")
    io.write(_one(xrd, "bcc", 1), folder / "scan_2.xy")
    (folder / "scan_3.xy").write_text("not a spectrum\nat all\n")
    (folder / "notes.md").write_text("ignored: not a suffix specstate reads")
    slow_xy = _file_bytes(_one(xrd, "hcp", 0), tmp_path, "slow.xy")
    h5 = _file_bytes(_one(xrd, "hcp", 1, n=3), tmp_path, "run.h5")
    written = threading.Event()

    def writer():
        half = folder / "scan_10.h5"  # a half-written HDF5 file, after scan_4 in order
        half.write_bytes(h5[: len(h5) // 2])
        with open(folder / "scan_4.xy", "wb") as fh:  # a slow writer, chunk by chunk
            for start in range(0, len(slow_xy), 64):
                fh.write(slow_xy[start:start + 64])
                fh.flush()
                time.sleep(CHUNK_PAUSE)
        time.sleep(3 * POLL)  # the half file is now stable in size, yet not valid HDF5
        with open(half, "ab") as fh:
            fh.write(h5[len(h5) // 2:])
        written.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    results = list(watch(model, folder, poll_interval=POLL, max_trains=5, idle_timeout=20))
    thread.join()
    assert written.is_set()
    assert [r.name for r in results] == ["scan_1.xy", "scan_2.xy", "scan_3.xy", "scan_4.xy",
                                         "scan_10.h5"]
    assert [r.train_id for r in results] == [0, 1, 2, 3, 4]
    assert [r.state for r in results] == ["bcc", "bcc", None, "hcp", "hcp"]
    assert results[2].errors == {"parse": 1}
    assert all(not r.errors for i, r in enumerate(results) if i != 2)
    assert results[3].n_spectra == 1 and results[4].n_spectra == 3


def test_folder_source_waits_for_stable_files_and_reports_a_missing_folder(tmp_path):
    from specstate.exceptions import StreamError

    with pytest.raises(StreamError, match="must exist"):
        FolderSource(tmp_path / "nope")
    source = iter(FolderSource(tmp_path, poll_interval=0.01))
    assert isinstance(next(source), Idle)  # an empty folder: idle ticks, no results
    (tmp_path / "a.xy").write_text("1 2\n")
    assert isinstance(next(source), Idle)  # seen once: not yet known to be complete


def test_read_and_watch_take_a_folder_in_the_same_order_and_the_same_formats(xrd, model,
                                                                              tmp_path):
    # read() and the watched folder share one natural order (case-insensitive) and one list
    # of readable suffixes: .dat, .txt, .csv, .npy, .nx5, .hdf too, whatever their case
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("B1.xy", "a2.xy", "A10.xy", "a1.xy"):
        io.write(xrd[[0]], folder / name)
    assert io.read(folder).metadata["files"] == ["a1.xy", "a2.xy", "A10.xy", "B1.xy"]
    got = list(watch(model, folder, poll_interval=0.05, max_trains=4, idle_timeout=10))
    assert [r.name for r in got] == ["a1.xy", "a2.xy", "A10.xy", "B1.xy"]

    others = tmp_path / "others"
    others.mkdir()
    scratch = tmp_path / "scratch"
    for i, suffix in enumerate((".dat", ".TXT", ".nx5", ".hdf")):
        written = io.write(xrd[[i]], scratch / ("x.xy" if i < 2 else "x.h5"))
        shutil.copy(written, others / f"s_{i}{suffix}")
    table = "2theta,I\n" + "".join(f"{a!r},{v!r}\n" for a, v in
                                    zip(xrd.axis.tolist(), xrd.intensity[4].tolist()))
    (others / "s_4.csv").write_text(table)
    np.save(others / "s_5.npy", xrd.intensity[5])  # no axis: read, then refused for its axis
    (others / "labels.csv").write_text("file,label\ns_0.dat,bcc\n")  # a table, not spectra
    got = list(watch(model, others, poll_interval=0.05, max_trains=6, idle_timeout=10))
    assert [r.name for r in got] == ["s_0.dat", "s_1.TXT", "s_2.nx5", "s_3.hdf", "s_4.csv",
                                     "s_5.npy"]
    assert all(r.ok and not r.errors for r in got[:5]), [r.errors for r in got]
    assert got[5].errors == {"axis_mismatch": 1}


def test_model_file_replaced_mid_run_is_reloaded_between_trains(xrd, model_path, tmp_path,
                                                                caplog):
    from specstate import SpectraClassifier

    path = tmp_path / "model.h5"
    shutil.copy(model_path, path)
    folder = tmp_path / "in"
    folder.mkdir()
    io.write(_one(xrd, "bcc", 0), folder / "a_1.xy")
    caplog.set_level(logging.INFO, logger="specstate.stream")
    results = watch(path, folder, poll_interval=0.05, idle_timeout=10)
    first = next(results)
    assert first.state == "bcc" and not first.model_reloaded

    # a refit with new references (other class names) replaces the file mid-run
    keep = np.isin(xrd.labels, ["bcc", "hcp"])
    renamed = np.where(xrd.labels[keep] == "bcc", "low", "high")
    refit = SpectraClassifier(random_state=0, **TINY).fit(xrd.intensity[keep], renamed,
                                                           axis=xrd.axis)
    tmp = tmp_path / "model.tmp.h5"
    refit.save(tmp)
    os.replace(tmp, path)
    io.write(_one(xrd, "bcc", 1), folder / "a_2.xy")
    second = next(results)
    assert second.model_reloaded
    assert second.state == "low" and set(second.counts) == {"low", "high"}
    assert "model reloaded" in caplog.text

    # a damaged replacement is reported and the previous model kept
    path.write_bytes(b"not a model")
    io.write(_one(xrd, "hcp", 0), folder / "a_3.xy")
    third = next(results)
    assert not third.model_reloaded and third.state == "high"
    assert "cannot be loaded" in caplog.text
    results.close()


def test_file_that_failed_while_half_written_is_read_again_when_it_changes(tmp_path):
    source = iter(FolderSource(tmp_path, poll_interval=0.01))
    path = tmp_path / "a.xy"
    path.write_text("1 2\n2 3\n3")  # a writer paused mid-line, longer than two polls
    packets = []
    for item in source:
        if not isinstance(item, Idle):
            packets.append(item)
            break
    assert packets[0].error == "parse"
    with open(path, "a") as f:
        f.write(" 4\n4 5\n")  # the writer finishes
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # mtime surely changes
    for item in source:
        if not isinstance(item, Idle):
            packets.append(item)
            break
    assert packets[1].error is None
    np.testing.assert_array_equal(packets[1].spectra, [[2, 3, 4, 5]])
