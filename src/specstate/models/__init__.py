"""Region networks: folded preprocessing, augmentation, training and the prediction path.

Linear preprocessing folded into first layers, few-shot augmentation, training (torch,
imported lazily) and the numpy prediction path. The model file is :mod:`specstate.io.model_file`.

The public entry point is :class:`specstate.SpectraClassifier`; these modules are its parts.
"""

__all__: list[str] = []
