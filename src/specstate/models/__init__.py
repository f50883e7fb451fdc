"""Region networks: folded preprocessing, augmentation, training, weighting, model files.

Linear preprocessing folded into first layers, few-shot augmentation, training (torch,
imported lazily), weighting, the numpy prediction path and model files.

The public entry point is :class:`specstate.SpectraClassifier`; these modules are its parts.
"""

from ._file import FORMAT_NAME, FORMAT_VERSION

__all__ = ["FORMAT_NAME", "FORMAT_VERSION"]
