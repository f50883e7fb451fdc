"""Model files: a fitted SpectraClassifier as plain HDF5 (arrays + JSON), never pickle.

The layout and every name are in :mod:`specstate.io._schema` (``MODEL_*``). Files are written
through :func:`specstate.io._files.atomic_write` (a temporary file renamed into place, with
the permissions the umask gives) and opened through :func:`~specstate.io._files.open_hdf5`,
so a damaged file gets one sentence. Format version 2 (specstate 0.2) holds the linear
member, the fit plan and the drift description; version-1 files (0.1) are refused with a
sentence that says to refit.
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from pathlib import Path

import numpy as np

from ..exceptions import ModelFileError, ModelQualityWarning
from . import _schema as S
from ._files import atomic_write, open_hdf5

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "load_model", "is_model_file"]

FORMAT_NAME = S.MODEL_FORMAT_NAME
FORMAT_VERSION = 2
#: Oldest format this release reads: version 1 (specstate 0.1) models had no linear
#: member, no fit plan and a drift stored as batch templates.
OLDEST_VERSION = 2
#: Arrays larger than this (elements) are gzip-compressed in the file.
COMPRESS_ABOVE = 4096
#: Fitted attributes stored in the 'state' JSON (scalars and small dicts).
STATE_KEYS = (
    "axis_name_", "axis_unit_", "wavelength_", "normalize_", "peak_width_", "baseline_sigma_",
    "pool_", "drift_mode_", "temperature_", "n_features_in_", "fingerprint_",
    "_fast_finite_", "n_iter_", "linear_weight_", "heldout_score_", "heldout_protocol_",
    "fit_plan_", "quality_", "drift_block_", "forced_", "run_drift_", "snv_",
)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _params(est) -> dict:
    params = est.get_params(deep=False)
    rs = params.get("random_state")
    if not (rs is None or isinstance(rs, (int, np.integer))):
        params["random_state"] = None  # a RandomState object: its state is not kept
    return params


def _write_classes(f, classes):
    import h5py

    if classes.dtype.kind in "USO":
        data = np.array([str(c) for c in classes], dtype=object)
        ds = f.create_dataset(S.MODEL_CLASSES, data=data, dtype=h5py.string_dtype())
        ds.attrs[S.MODEL_CLASSES_KIND_ATTR] = "str"
    else:
        ds = f.create_dataset(S.MODEL_CLASSES, data=classes)
        ds.attrs[S.MODEL_CLASSES_KIND_ATTR] = classes.dtype.str


def _dataset(group, name, value):
    big = np.size(value) > COMPRESS_ABOVE
    group.create_dataset(name, data=value, compression="gzip" if big else None)


def save_model(est, path) -> None:
    """Write a fitted classifier to `path` (nothing half-written on failure)."""
    import h5py

    from .._version import __version__

    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs[S.MODEL_ATTR_FORMAT] = FORMAT_NAME
        f.attrs[S.MODEL_ATTR_VERSION] = FORMAT_VERSION
        f.attrs[S.MODEL_ATTR_SPECSTATE] = __version__
        f.attrs[S.MODEL_ATTR_CREATED] = _dt.datetime.now(_dt.timezone.utc).isoformat()
        f.attrs[S.MODEL_ATTR_FINGERPRINT] = est.fingerprint_
        f.attrs[S.MODEL_ATTR_NETWORK] = est.network
        f.attrs[S.MODEL_ATTR_PARAMS] = json.dumps(_params(est), default=_json_default)
        state = {k: getattr(est, k) for k in STATE_KEYS if hasattr(est, k)}
        f.attrs[S.MODEL_ATTR_STATE] = json.dumps(state, default=_json_default)
        ax = f.create_dataset(S.MODEL_AXIS, data=est.axis_)
        ax.attrs[S.MODEL_AXIS_NAME_ATTR] = est.axis_name_
        ax.attrs[S.MODEL_AXIS_UNIT_ATTR] = est.axis_unit_
        if est.mask_ is not None:
            f.create_dataset(S.MODEL_MASK, data=est.mask_)
        _write_classes(f, est.classes_)
        g = f.create_group(S.MODEL_REGIONS)
        for name in S.MODEL_REGION_FIELDS:
            g.create_dataset(name, data=np.array([getattr(r, name) for r in est.regions_]))
        f.create_dataset(S.MODEL_WEIGHTS, data=est.weights_)
        f.create_dataset(S.MODEL_SEPARABILITY_PROFILE, data=est.separability_profile_)
        rg = f.create_group(S.MODEL_REFERENCES)
        _dataset(rg, S.MODEL_REFERENCE_MEAN, est.reference_mean_)
        _dataset(rg, S.MODEL_REFERENCE_STD, est.reference_std_)
        mg = f.create_group(S.MODEL_NETWORKS)
        for key, value in est.model_.to_arrays().items():
            _dataset(mg, key, value)
        for key, value in est.model_.attrs().items():
            mg.attrs[key] = value
        nov = getattr(est, "novelty_", None)
        if nov is not None:
            ng = f.create_group(S.MODEL_NOVELTY)
            for key, value in nov.to_arrays().items():
                _dataset(ng, key, value)
            for key, value in nov.attrs().items():
                ng.attrs[key] = value
        dm = getattr(est, "drift_model_", None)
        if dm is not None:
            dg = f.create_group(S.MODEL_DRIFT)
            for name in S.MODEL_DRIFT_ARRAYS:
                dg.create_dataset(name, data=getattr(dm, name))
            for name in S.MODEL_DRIFT_SCALARS:
                dg.attrs[name] = float(getattr(dm, name))


def is_model_file(path) -> bool:
    """Whether `path` is an HDF5 file marked as a specstate model."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return f.attrs.get(S.MODEL_ATTR_FORMAT) == FORMAT_NAME
    except OSError:
        return False


def load_model(cls, path):
    """Read a classifier written by :func:`save_model`."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"The model file {path} does not exist.")
    f = open_hdf5(path, error=ModelFileError, what="a specstate model file")
    try:
        with f:
            est = _read(cls, f, path)
    except ModelFileError:
        raise
    except (KeyError, OSError, ValueError, TypeError) as err:
        raise ModelFileError(
            f"{path} looks like a specstate model but is damaged or incomplete: {err}"
        ) from None
    if getattr(est, "forced_", False):
        warnings.warn(
            f"{path} was written with --force although its fit could not tell the states "
            "apart: " + "; ".join(est.quality_.get("problems", [])) + ".",
            ModelQualityWarning, stacklevel=3,
        )
    return est


def _read(cls, f, path):
    from ..drift import DriftModel
    from ..regions import Region

    if f.attrs.get(S.MODEL_ATTR_FORMAT) != FORMAT_NAME:
        raise ModelFileError(
            f"{path} is an HDF5 file but not a specstate model (no "
            f"'{S.MODEL_ATTR_FORMAT}' = '{FORMAT_NAME}' attribute)."
        )
    version = int(f.attrs.get(S.MODEL_ATTR_VERSION, -1))
    written_by = f.attrs.get(S.MODEL_ATTR_SPECSTATE)
    if version < OLDEST_VERSION:
        raise ModelFileError(
            f"{path} is a specstate model of format version {version}, written by specstate "
            f"{written_by}, which this specstate no longer reads (the classifier changed); "
            "refit it with 'specstate fit'."
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} is a specstate model of format version {version}, written by specstate "
            f"{written_by}; this specstate reads up to version {FORMAT_VERSION}. Upgrade "
            "specstate."
        )
    est = cls(**json.loads(f.attrs[S.MODEL_ATTR_PARAMS]))
    for key, value in json.loads(f.attrs[S.MODEL_ATTR_STATE]).items():
        setattr(est, key, value)
    est.axis_ = f[S.MODEL_AXIS][()]
    est.mask_ = f[S.MODEL_MASK][()].astype(bool) if S.MODEL_MASK in f else None
    ds = f[S.MODEL_CLASSES]
    if ds.attrs[S.MODEL_CLASSES_KIND_ATTR] == "str":
        est.classes_ = np.array([c.decode() if isinstance(c, bytes) else c for c in ds[()]])
    else:
        est.classes_ = ds[()].astype(np.dtype(ds.attrs[S.MODEL_CLASSES_KIND_ATTR]))
    rg = f[S.MODEL_REGIONS]
    cols = {name: rg[name][()] for name in S.MODEL_REGION_FIELDS}
    est.regions_ = [
        Region(
            float(cols["start"][i]), float(cols["stop"][i]),
            int(cols["start_index"][i]), int(cols["stop_index"][i]),
            float(cols["separability"][i]), float(cols["weight"][i]),
        )
        for i in range(len(cols["start"]))
    ]
    est.weights_ = f[S.MODEL_WEIGHTS][()]
    est.separability_profile_ = f[S.MODEL_SEPARABILITY_PROFILE][()]
    refs = f[S.MODEL_REFERENCES]
    est.reference_mean_ = refs[S.MODEL_REFERENCE_MEAN][()]
    est.reference_std_ = refs[S.MODEL_REFERENCE_STD][()]
    mg = f[S.MODEL_NETWORKS]
    arrays = {k: mg[k][()] for k in mg}
    attrs = dict(mg.attrs)
    if est.network == "point":
        from ..models._point import PointModel

        est.model_ = PointModel.from_arrays(arrays, attrs)
    else:
        from ..models._inference import FoldedNetworks

        est.model_ = FoldedNetworks.from_arrays(arrays, attrs)
    est.drift_model_ = None
    if S.MODEL_DRIFT in f:
        dg = f[S.MODEL_DRIFT]
        est.drift_model_ = DriftModel(
            **{k: dg[k][()] for k in S.MODEL_DRIFT_ARRAYS},
            **{k: float(dg.attrs[k]) for k in S.MODEL_DRIFT_SCALARS},
        )
    est.novelty_ = None
    if S.MODEL_NOVELTY in f:
        from ..ensemble._novelty import NoveltyModel

        ng = f[S.MODEL_NOVELTY]
        est.novelty_ = NoveltyModel.from_file({k: ng[k][()] for k in ng}, dict(ng.attrs))
    est.drift_mode_ = getattr(est, "drift_mode_", None)
    est.shift_model_ = None
    return est
