"""specstate: tell, on the fly, which state a sample is in from its 1-D spectra.

The public API is imported lazily, so ``import specstate`` stays fast and heavy optional
dependencies (torch, matplotlib, karabo-bridge, extra-data, dask) load only when used.

Examples
--------
>>> import specstate
>>> spectra = specstate.datasets.simulate_xrd_ramp(random_state=0)  # doctest: +SKIP
>>> clf = specstate.SpectraClassifier().fit(spectra[:4], spectra.labels[:4])  # doctest: +SKIP
"""

from importlib import import_module

from ._version import __version__

# public name -> (module, attribute or None for the module itself)
_LAZY = {
    "Spectra": ("specstate.spectra", "Spectra"),
    "read": ("specstate.io", "read"),
    "write": ("specstate.io", "write"),
    "SpectraClassifier": ("specstate.classifier", "SpectraClassifier"),
    "Classification": ("specstate.results", "Classification"),
    "TrainSummary": ("specstate.results", "TrainSummary"),
    "Region": ("specstate.regions", "Region"),
    "locate_transitions": ("specstate.transitions", "locate_transitions"),
    "ChangeDetector": ("specstate.changes", "ChangeDetector"),
    "ChangeEvent": ("specstate.changes", "ChangeEvent"),
    "find_changes": ("specstate.changes", "find_changes"),
    "watch": ("specstate.stream", "watch"),
    "classify_many": ("specstate.parallel", "classify_many"),
    "read_results": ("specstate.io.results", "read_results"),
    "write_results": ("specstate.io.results", "write_results"),
    "read_trains": ("specstate.io.results", "read_trains"),
    "datasets": ("specstate.datasets", None),
    "preprocessing": ("specstate.preprocessing", None),
    "io": ("specstate.io", None),
    "stream": ("specstate.stream", None),
    "changes": ("specstate.changes", None),
    "report": ("specstate.report", None),
    "exceptions": ("specstate.exceptions", None),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'specstate' has no attribute {name!r}") from None
    value = import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
