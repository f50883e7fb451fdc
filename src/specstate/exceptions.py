"""Exceptions raised by specstate.

Every error caused by bad input says, in one sentence, what was expected, what came and
where (file, dataset, line). They subclass built-in exceptions so that ordinary ``except
ValueError`` / ``except OSError`` code keeps working; the command line turns any
:class:`SpecstateError` into ``error: ...`` on stderr and exit status 2.
"""

__all__ = [
    "SpecstateError",
    "SpectraFormatError",
    "SpectraFileError",
    "NonFiniteError",
    "AxisMismatchError",
    "ModelFileError",
    "LabelError",
    "StreamError",
    "ModelQualityWarning",
]


class SpecstateError(Exception):
    """Base class of every error specstate raises on purpose."""


class SpectraFormatError(SpecstateError, ValueError):
    """The content of a file or array is not what was expected (format, shape, axis)."""


class SpectraFileError(SpecstateError, OSError):
    """A file or folder is missing, unreadable or truncated, or a glob matches nothing."""


class NonFiniteError(SpectraFormatError):
    """Spectra hold NaN or infinite values where finite ones were expected."""


class AxisMismatchError(SpectraFormatError):
    """Spectra are on an axis that does not match the one expected (e.g. the model's grid)."""


class LabelError(SpecstateError, ValueError):
    """Labels are missing, malformed, or do not match the spectra."""


class ModelFileError(SpecstateError, ValueError):
    """A model file is damaged, foreign, or from an incompatible version."""


class StreamError(SpecstateError, RuntimeError):
    """A live source (bridge, folder) cannot be used."""


class ModelQualityWarning(UserWarning):
    """A fitted model that cannot vouch for its predictions.

    Emitted by :meth:`SpectraClassifier.fit` when the held-out check on the original
    references says the states are not told apart (balanced accuracy near chance, or well
    below the linear member's alone, every member at weight 0, a calibration at its bound,
    or no difference between the class means above the references' own noise). The message
    says which. Filter it or turn it into an error with :mod:`warnings` as any warning.

    ``quality_["separable"]`` says whether the problems mean the states cannot be told
    apart (near chance, not significantly above it, no better than the states' shares,
    every weight 0, no difference above the noise); the command line then refuses to write
    the model without ``--force``. The other problems (a calibration at its bound, the
    references moved between their sittings misread) are printed and the model is written.
    A stack more than 0.1 below its linear member does not reach the user: the fit then
    keeps the linear member alone, and the fit plan's ``ensemble`` says so.
    """
