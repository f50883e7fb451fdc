"""Label-free change detection: know that the sample changed before any reference exists.

* :class:`ChangeDetector` — online: ``update(chunk)`` train by train returns
  :class:`ChangeEvent` objects (estimated change point, detection, score);
* :func:`find_changes` — offline: the first spectrum of each new segment of a whole run.

Both work on the same view of the spectra (normalised by total intensity, projected on smooth
bumps, see :mod:`specstate.changes._projection`) and share the false-alarm control: a
threshold from a target run length, by default one false alarm per 8 hours at 27,000
spectra/s.
"""

from ._offline import find_changes
from ._online import ChangeDetector, ChangeEvent

__all__ = ["ChangeDetector", "ChangeEvent", "find_changes"]
