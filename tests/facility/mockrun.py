"""Mock European XFEL runs written with EXtra-data's own mock-data writers.

Used by the facility tests and by ``benchmarks/bench_dask.py``.
"""

from pathlib import Path

import h5py
import numpy as np
from extra_data.tests.mockdata.base import DeviceBase
from extra_data.tests.mockdata.mkfile import write_file
from extra_data.tests.mockdata.xgm import XGM

SPEC_DEVICE = "FXE_DET_SPEC/DET/A"
SPEC_SOURCE = f"{SPEC_DEVICE}:output"
SPEC_KEY = "data.spectrum"
XGM_DEVICE = "SA1_XTD2_XGM/XGM/DOOCS"
XGM_MONITOR = f"{XGM_DEVICE}:output:data.intensityTD"
FIRST_TRAIN = 10000
#: the run-file format version written (the current EuXFEL layout: 'SOURCE:output' + 'data.x')
FORMAT_VERSION = "1.2"
#: pulses the XGM reports per train (as the real device: a fixed-size vector)
XGM_SLOTS = 1000
#: pulses per train of the per-pulse mock runs
PULSES_DEFAULT = 4


class Spectrometer(DeviceBase):
    """A 1-D spectrometer: one spectrum (m,) per entry, or (n_pulses, m) per train."""

    output_channels = ("output/data",)
    extra_run_values = [("classId", None, "Spectrometer")]

    def __init__(self, device_id, n_points, pulse_shape=None, nsamples=None):
        super().__init__(device_id, nsamples=nsamples)
        shape = (n_points,) if pulse_shape is None else (pulse_shape, n_points)
        self.instrument_keys = [("spectrum", "f4", shape)]


def write_mock_run(folder, spectra, *, pulses_per_train=1, layout="index", n_files=1,
                   first_train=FIRST_TRAIN, empty_trains=()):
    """Write `spectra` (a Spectra) as an EuXFEL run folder with a spectrometer and an XGM.

    layout 'index': per-pulse spectra as several (m,) entries per train (pulse dim in the
    index); layout 'array': one (n_pulses, m) entry per train. The XGM's intensityTD holds
    the spectra's monitor (pulse energy) for each pulse. `empty_trains` (one spectrum per
    train only): indices of trains where the spectrometer saved nothing (the XGM did).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    x = np.asarray(spectra.intensity, dtype=np.float32)
    n, m = x.shape
    p = pulses_per_train
    assert n % p == 0
    n_trains = n // p
    monitor = spectra.monitor if spectra.monitor is not None else np.ones(n)
    energies = np.ones((n_trains, XGM_SLOTS), np.float32)
    energies[:, :p] = np.asarray(monitor, np.float32).reshape(n_trains, p)
    bounds = np.linspace(0, n_trains, n_files + 1).astype(int)
    for seq, (t0, t1) in enumerate(zip(bounds[:-1], bounds[1:])):
        nt = int(t1 - t0)
        if layout == "array" and p > 1:
            spec = Spectrometer(SPEC_DEVICE, m, pulse_shape=p)
            block = x[t0 * p : t1 * p].reshape(nt, p, m)
        else:
            spec = Spectrometer(SPEC_DEVICE, m, nsamples=nt * p)
            block = x[t0 * p : t1 * p]
        path = folder / f"RAW-R0001-DA01-S{seq:05d}.h5"
        write_file(str(path), [spec, XGM(XGM_DEVICE)], ntrains=nt,
                   firsttrain=first_train + int(t0), chunksize=16, format_version=FORMAT_VERSION)
        with h5py.File(path, "r+") as f:
            chan = f"{SPEC_DEVICE}:output/data"
            if len(empty_trains):
                assert p == 1 and layout == "index"
                count = np.ones(nt, np.uint64)
                count[[t - t0 for t in empty_trains if t0 <= t < t1]] = 0
                keep = count.astype(bool)
                f[f"INDEX/{chan}/count"][:] = count
                f[f"INDEX/{chan}/first"][:] = np.cumsum(count) - count
                f[f"INSTRUMENT/{chan}/trainId"][:] = 0
                f[f"INSTRUMENT/{chan}/trainId"][: keep.sum()] = (
                    first_train + t0 + np.flatnonzero(keep))
                block = block[keep]
            f[f"INSTRUMENT/{chan}/spectrum"][: len(block)] = block
            f[f"INSTRUMENT/{XGM_DEVICE}:output/data/intensityTD"][:nt] = energies[t0:t1]
    return folder
