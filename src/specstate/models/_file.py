"""Model files: a fitted SpectraClassifier as plain HDF5 (arrays + JSON), never pickle.

Layout (names are the constants below)::

    /                attrs: specstate_format, format_version, specstate_version, created,
                     fingerprint, network, params (JSON), state (JSON scalars)
    /axis            the fitted grid (attrs: name, unit)
    /mask            masked points (optional)
    /classes         the states (attr kind: 'str' or a numpy dtype string)
    /regions/*       start, stop, start_index, stop_index, separability, weight
    /weights, /separability_profile
    /references/mean, /references/std   each state's reference mean and spread
    /model/*         the folded networks (numpy arrays; attrs: their settings)
    /drift/*         drift templates (optional)
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..exceptions import ModelFileError
from ..io._common import umask_mode

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "load_model"]

FORMAT_NAME = "specstate-model"
FORMAT_VERSION = 2
#: Oldest format this release reads: version 1 (specstate 0.1) models had no linear
#: member, no fit plan and a drift stored as batch templates.
OLDEST_VERSION = 2
ATTR_FORMAT = "specstate_format"
ATTR_VERSION = "format_version"
ATTR_SPECSTATE = "specstate_version"
ATTR_CREATED = "created"
ATTR_FINGERPRINT = "fingerprint"
ATTR_NETWORK = "network"
ATTR_PARAMS = "params"
ATTR_STATE = "state"
#: Arrays larger than this (elements) are gzip-compressed in the file.
COMPRESS_ABOVE = 4096
REGION_FIELDS = ("start", "stop", "start_index", "stop_index", "separability", "weight")
#: Scalar fitted attributes stored in the 'state' JSON.
STATE_KEYS = (
    "axis_name_", "axis_unit_", "wavelength_", "normalize_", "peak_width_", "baseline_sigma_",
    "pool_", "drift_mode_", "temperature_", "n_features_in_", "fingerprint_",
    "_fast_finite_", "n_iter_", "linear_weight_", "heldout_score_", "heldout_protocol_",
    "fit_plan_", "quality_", "drift_block_", "forced_", "run_drift_",
)
#: Fields of the drift description (specstate.drift.DriftModel) in /drift.
DRIFT_ARRAYS = ("u", "basis", "weight")
DRIFT_SCALARS = ("step", "max_shift", "rate", "evidence", "prior_var")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
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
        ds = f.create_dataset("classes", data=data, dtype=h5py.string_dtype())
        ds.attrs["kind"] = "str"
    else:
        ds = f.create_dataset("classes", data=classes)
        ds.attrs["kind"] = classes.dtype.str


def save_model(est, path) -> None:
    """Write a fitted classifier to `path` (temporary file + rename)."""
    import h5py

    from .._version import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, umask_mode())
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs[ATTR_FORMAT] = FORMAT_NAME
            f.attrs[ATTR_VERSION] = FORMAT_VERSION
            f.attrs[ATTR_SPECSTATE] = __version__
            f.attrs[ATTR_CREATED] = _dt.datetime.now(_dt.timezone.utc).isoformat()
            f.attrs[ATTR_FINGERPRINT] = est.fingerprint_
            f.attrs[ATTR_NETWORK] = est.network
            f.attrs[ATTR_PARAMS] = json.dumps(_params(est), default=_json_default)
            state = {k: getattr(est, k) for k in STATE_KEYS if hasattr(est, k)}
            f.attrs[ATTR_STATE] = json.dumps(state, default=_json_default)
            ax = f.create_dataset("axis", data=est.axis_)
            ax.attrs["name"] = est.axis_name_
            ax.attrs["unit"] = est.axis_unit_
            if est.mask_ is not None:
                f.create_dataset("mask", data=est.mask_)
            _write_classes(f, est.classes_)
            g = f.create_group("regions")
            for name in REGION_FIELDS:
                g.create_dataset(name, data=np.array([getattr(r, name) for r in est.regions_]))
            f.create_dataset("weights", data=est.weights_)
            f.create_dataset("separability_profile", data=est.separability_profile_)
            rg = f.create_group("references")
            rg.create_dataset("mean", data=est.reference_mean_, compression="gzip")
            rg.create_dataset("std", data=est.reference_std_, compression="gzip")
            mg = f.create_group("model")
            for key, value in est.model_.to_arrays().items():
                big = np.size(value) > COMPRESS_ABOVE
                mg.create_dataset(key, data=value, compression="gzip" if big else None)
            for key, value in est.model_.attrs().items():
                mg.attrs[key] = value
            dm = getattr(est, "drift_model_", None)
            if dm is not None:
                dg = f.create_group("drift")
                for name in DRIFT_ARRAYS:
                    dg.create_dataset(name, data=getattr(dm, name))
                for name in DRIFT_SCALARS:
                    dg.attrs[name] = float(getattr(dm, name))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_model(cls, path):
    """Read a classifier written by :func:`save_model`."""
    import h5py

    from ..regions import Region

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"The model file {path} does not exist.")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ModelFileError(
            f"{path} is not a readable HDF5 file (damaged or truncated?): {err}"
        ) from None
    try:
        with f:
            if f.attrs.get(ATTR_FORMAT) != FORMAT_NAME:
                raise ModelFileError(
                    f"{path} is an HDF5 file but not a specstate model (no "
                    f"'{ATTR_FORMAT}' = '{FORMAT_NAME}' attribute)."
                )
            version = int(f.attrs.get(ATTR_VERSION, -1))
            if version < OLDEST_VERSION:
                raise ModelFileError(
                    f"{path} is a specstate model of format version {version}, written by "
                    f"specstate {f.attrs.get(ATTR_SPECSTATE)}, which this specstate no longer "
                    f"reads (the classifier changed); refit it with 'specstate fit'."
                )
            if version > FORMAT_VERSION:
                raise ModelFileError(
                    f"{path} is a specstate model of format version {version}, written by "
                    f"specstate {f.attrs.get(ATTR_SPECSTATE)}; this specstate reads up to "
                    f"version {FORMAT_VERSION}. Upgrade specstate."
                )
            params = json.loads(f.attrs[ATTR_PARAMS])
            est = cls(**params)
            for key, value in json.loads(f.attrs[ATTR_STATE]).items():
                setattr(est, key, value)
            est.axis_ = f["axis"][()]
            est.mask_ = f["mask"][()].astype(bool) if "mask" in f else None
            ds = f["classes"]
            if ds.attrs["kind"] == "str":
                est.classes_ = np.array([c.decode() if isinstance(c, bytes) else c for c in ds[()]])
            else:
                est.classes_ = ds[()].astype(np.dtype(ds.attrs["kind"]))
            rg = f["regions"]
            cols = {name: rg[name][()] for name in REGION_FIELDS}
            est.regions_ = [
                Region(
                    float(cols["start"][i]), float(cols["stop"][i]),
                    int(cols["start_index"][i]), int(cols["stop_index"][i]),
                    float(cols["separability"][i]), float(cols["weight"][i]),
                )
                for i in range(len(cols["start"]))
            ]
            est.weights_ = f["weights"][()]
            est.separability_profile_ = f["separability_profile"][()]
            est.reference_mean_ = f["references/mean"][()]
            est.reference_std_ = f["references/std"][()]
            mg = f["model"]
            arrays = {k: mg[k][()] for k in mg}
            attrs = dict(mg.attrs)
            if est.network == "point":
                from ._point import PointModel

                est.model_ = PointModel.from_arrays(arrays, attrs)
            else:
                from ._inference import FoldedNetworks

                est.model_ = FoldedNetworks.from_arrays(arrays, attrs)
            est.drift_model_ = None
            if "drift" in f:
                from ..drift import DriftModel

                dg = f["drift"]
                est.drift_model_ = DriftModel(
                    **{k: dg[k][()] for k in DRIFT_ARRAYS},
                    **{k: float(dg.attrs[k]) for k in DRIFT_SCALARS},
                )
            est.drift_mode_ = getattr(est, "drift_mode_", None)
            est.shift_model_ = None
            if getattr(est, "forced_", False):
                import warnings

                from ..exceptions import ModelQualityWarning

                warnings.warn(
                    f"{path} was written with --force although its fit could not tell the "
                    "states apart: " + "; ".join(est.quality_.get("problems", [])) + ".",
                    ModelQualityWarning, stacklevel=3,
                )
    except ModelFileError:
        raise
    except (KeyError, OSError, ValueError, TypeError) as err:
        raise ModelFileError(
            f"{path} looks like a specstate model but is damaged or incomplete: {err}"
        ) from None
    return est
