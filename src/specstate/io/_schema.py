"""HDF5 / NeXus paths and attribute names used by specstate's readers and writers.

One place for every name, so that the spectra writer (:mod:`specstate.io.hdf5`), the results
writer (:mod:`specstate.io.results`) and their readers agree. The layout written for spectra::

    /                         @NX_class=NXroot  @default="entry"
    /entry                    @NX_class=NXentry @default="data"
    /entry/data               @NX_class=NXdata  @signal="intensity"  @axes=[".", <axis_name>]
    /entry/data/intensity     (n, m)  the spectra (dtype kept)
    /entry/data/<axis_name>   (m,)    @units, @long_name
    /entry/data/labels        (n,)    utf-8 strings (or ints)
    /entry/data/train_ids     (n,)    /entry/data/pulse_ids (n,)   /entry/data/monitor (n,)
    /entry/data/mask          (m,)    int8, 1 = point ignored
    /entry/data/params/<key>  (n,...) per-spectrum parameters   (NXcollection)
    /entry/instrument/beam/incident_wavelength   @units="angstrom"   (NXinstrument/NXbeam)
    /entry/metadata/<key>     further metadata (NXcollection; dicts become sub-groups)
"""

# --- NeXus attributes
NX_CLASS = "NX_class"
DEFAULT = "default"
SIGNAL = "signal"
AXES = "axes"
UNITS = "units"
LONG_NAME = "long_name"
INDICES_SUFFIX = "_indices"
#: placeholder in @axes for a dimension without a coordinate dataset
NO_AXIS = "."

# --- NeXus base classes
NXROOT = "NXroot"
NXENTRY = "NXentry"
NXDATA = "NXdata"
NXINSTRUMENT = "NXinstrument"
NXBEAM = "NXbeam"
NXCOLLECTION = "NXcollection"
NXPROCESS = "NXprocess"

# --- group and dataset names
ENTRY = "entry"
DATA = "data"
INSTRUMENT = "instrument"
BEAM = "beam"
METADATA = "metadata"
PARAMS = "params"
INTENSITY = "intensity"
LABELS = "labels"
TRAIN_IDS = "train_ids"
PULSE_IDS = "pulse_ids"
MONITOR = "monitor"
MASK = "mask"
WAVELENGTH = "incident_wavelength"
WAVELENGTH_UNIT = "angstrom"
#: dimension name of the spectrum index, as in :meth:`specstate.Spectra.to_xarray`
SPECTRUM_DIM = "spectrum"
#: per-spectrum datasets of an NXdata group, in the order of :class:`specstate.Spectra`
PER_SPECTRUM = (LABELS, TRAIN_IDS, PULSE_IDS, MONITOR)

# --- provenance written on the root group
CREATOR_ATTR = "creator"
CREATOR = "specstate"
VERSION_ATTR = "creator_version"
FILE_NAME_ATTR = "file_name"
FILE_TIME_ATTR = "file_time"

# (file suffixes: specstate.io._files)
#: name of the labels table in a folder of text spectra (columns ``file,label``)
LABELS_FILE = "labels.csv"
#: an EuXFEL run folder holds files named like RAW-R0012-DA01-S00000.h5 / CORR-R0012-...
EUXFEL_FILE_PATTERN = r"^(RAW|CORR)-R\d{4}-[A-Za-z0-9]+-S\d{5}\.h5$"

# --- results files: one layout, whatever wrote them (classify, demo, parallel, watch)
#
#     /                          @NX_class=NXroot  @default="entry"  (creator, file_name, ...)
#     /entry                     @NX_class=NXentry @default="spectra"
#     /entry/title, program_name (@version), start_time, end_time
#     /entry/spectra             NXdata, one row per spectrum  @signal="state_index"
#         spectrum (n,) int64        number of the spectrum in its input (the default axis)
#         train_id (n,) uint64, pulse_id (n,) int64, file (n,) str     where known
#         state_index (n,) int16     position of the state in `classes` (-1: none)
#         probability (n, C) float32, confidence (n,) float32, ambiguous (n,) int8
#         novelty (n,) float32, novel (n,) int8                          where scored
#         classes (C,) str
#     /entry/trains              NXdata, one row per train  @signal="confidence"
#         train_id (t,), state_index (t,), confidence (t,), fraction (t, C), n_spectra,
#         n_classified, unknown, ambiguous (t,); the stream's own fields (watch): name,
#         no_beam, latency (@units="s"), skipped_before, late, n_errors
#         classes (C,) str
#     /entry/alerts              NXcollection: train_id, confirmed_train_id, previous, state
#     /entry/regions             NXdata  @signal="weight": region, start, stop, separability
#     /entry/state_means         NXdata  @signal="mean": mean (K, m) of the spectra in each
#                                state (the last row: unknown), state (K,), n_spectra (K,),
#                                axis (m,) @units @long_name (where the spectra are known)
#     /entry/process             NXprocess: program, version, date, sequence_index,
#                                parameters/ (NXparameters), model/ (NXnote: file_name,
#                                checksum @algorithm="sha256", classes), input_files
NXPARAMETERS = "NXparameters"
NXNOTE = "NXnote"
SPECTRA_DATA = "spectra"
TRAINS_DATA = "trains"
ALERTS = "alerts"
REGIONS_DATA = "regions"
STATE_MEANS = "state_means"
MEAN = "mean"
AXIS = "axis"
PROCESS = "process"
PROCESS_PARAMETERS = "parameters"
MODEL_NOTE = "model"
TITLE = "title"
PROGRAM_NAME = "program_name"
START_TIME = "start_time"
END_TIME = "end_time"
# per-spectrum fields (also the CSV columns of a per-spectrum table)
SPECTRUM = "spectrum"
TRAIN_ID = "train_id"
PULSE_ID = "pulse_id"
FILE = "file"
STATE_INDEX = "state_index"
STATE = "state"
PROBA = "probability"
CONFIDENCE = "confidence"
AMBIGUOUS = "ambiguous"
NOVELTY = "novelty"
NOVEL = "novel"
CLASSES = "classes"
#: CSV column prefix of the probability of each state: ``p_<class>``
PROBA_PREFIX = "p_"
# per-train fields (also the CSV columns of a per-train table)
NAME = "name"
N_SPECTRA = "n_spectra"
N_CLASSIFIED = "n_classified"
FRACTION = "fraction"
#: CSV column prefix of the fraction of each state in a train: ``fraction_<class>``
FRACTION_PREFIX = "fraction_"
UNKNOWN = "unknown"
NO_BEAM = "no_beam"
LATENCY = "latency"
LATENCY_MS = "latency_ms"
SKIPPED_BEFORE = "skipped_before"
LATE = "late"
N_ERRORS = "n_errors"
ERRORS = "errors"
ALERT = "alert"
# alerts
CONFIRMED_TRAIN_ID = "confirmed_train_id"
PREVIOUS = "previous"
# regions
REGION = "region"
REGION_START = "start"
REGION_STOP = "stop"
SEPARABILITY = "separability"
WEIGHT = "weight"
# provenance
PROGRAM = "program"
VERSION = "version"
DATE = "date"
SEQUENCE_INDEX = "sequence_index"
INPUT_FILES = "input_files"
CHECKSUM = "checksum"
CHECKSUM_ALGORITHM = "sha256"
ALGORITHM_ATTR = "algorithm"
AUXILIARY_SIGNALS = "auxiliary_signals"
# the model note of the provenance (NXnote) and the regions' axis
NOTE_TYPE = "type"
NOTE_DESCRIPTION = "description"
NOTE_FILE_NAME = "file_name"
AXIS_NAME_ATTR = "axis_name"
#: dimension of the states in what read_results / read_trains return
CLASS_DIM = "class"

# --- the model file (io/model_file.py), format version 2
#
#     /            attrs: specstate_format, format_version, specstate_version, created,
#                  fingerprint, network, params (JSON), state (JSON: scalars, the fit plan,
#                  the held-out score and the quality checks)
#     /axis        the fitted grid (attrs: name, unit)     /mask     masked points (optional)
#     /classes     the states (attr kind: 'str' or a numpy dtype string)
#     /regions/*   start, stop, start_index, stop_index, separability, weight
#     /weights, /separability_profile
#     /references/mean, /references/std   each state's reference mean and spread
#     /model/*     the folded members (region networks + linear member)
#     /drift/*     u, basis, weight (attrs: step, max_shift, rate, evidence, prior_var)
#     /novelty/*   projection, calibration (attrs: method, scale, rate, n_directions)
MODEL_FORMAT_NAME = "specstate-model"
MODEL_ATTR_FORMAT = "specstate_format"
MODEL_ATTR_VERSION = "format_version"
MODEL_ATTR_SPECSTATE = "specstate_version"
MODEL_ATTR_CREATED = "created"
MODEL_ATTR_FINGERPRINT = "fingerprint"
MODEL_ATTR_NETWORK = "network"
MODEL_ATTR_PARAMS = "params"
MODEL_ATTR_STATE = "state"
MODEL_AXIS = "axis"
MODEL_AXIS_NAME_ATTR = "name"
MODEL_AXIS_UNIT_ATTR = "unit"
MODEL_MASK = "mask"
MODEL_CLASSES = "classes"
MODEL_CLASSES_KIND_ATTR = "kind"
MODEL_REGIONS = "regions"
MODEL_REGION_FIELDS = ("start", "stop", "start_index", "stop_index", "separability", "weight")
MODEL_WEIGHTS = "weights"
MODEL_SEPARABILITY_PROFILE = "separability_profile"
MODEL_NETWORKS = "model"
MODEL_DRIFT = "drift"
MODEL_DRIFT_ARRAYS = ("u", "basis", "weight")
MODEL_DRIFT_SCALARS = ("step", "max_shift", "rate", "evidence", "prior_var")
MODEL_NOVELTY = "novelty"
MODEL_REFERENCES = "references"
MODEL_REFERENCE_MEAN = "mean"
MODEL_REFERENCE_STD = "std"

# --- results written by specstate 0.1.0's classify (read, never written)
#     /results/state (NXdata: state, confidence, ambiguous, classes, spectrum, train_id,
#     pulse_id), /results/probability/probability; CSV: an 'index' column, no 'spectrum'
V010_RESULTS_ENTRY = "results"
V010_STATE_DATA = "state"
V010_PROBA_DATA = "probability"
V010_CSV_INDEX = "index"
