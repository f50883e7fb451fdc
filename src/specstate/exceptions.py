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
