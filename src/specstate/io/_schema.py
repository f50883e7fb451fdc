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

# --- file extensions
HDF5_SUFFIXES = (".h5", ".hdf5", ".nxs", ".nx5", ".hdf", ".he5")
TEXT_SUFFIXES = (".xy", ".dat", ".txt")
CSV_SUFFIXES = (".csv",)
NPY_SUFFIXES = (".npy",)
NPZ_SUFFIXES = (".npz",)
#: name of the labels table in a folder of text spectra (columns ``file,label``)
LABELS_FILE = "labels.csv"
LABELS_FILE_COLUMNS = ("file", "label")
#: an EuXFEL run folder holds files named like RAW-R0012-DA01-S00000.h5 / CORR-R0012-...
EUXFEL_FILE_PATTERN = r"^(RAW|CORR)-R\d{4}-[A-Za-z0-9]+-S\d{5}\.h5$"
