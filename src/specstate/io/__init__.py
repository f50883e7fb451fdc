"""Reading and writing spectra: one :func:`read` and one :func:`write` for every format.

Formats: two-column text (``.xy``/``.dat``/``.txt``, one spectrum per file, folders and globs
of them), ``.csv`` tables, ``.npy``/``.npz``, HDF5/NeXus (NXdata), EuXFEL run folders
(:mod:`specstate.io.euxfel`, needs ``specstate[euxfel]``). HDF5 names live in
:mod:`specstate.io._schema`.

Examples
--------
>>> import numpy as np, specstate
>>> s = specstate.Spectra(np.ones((2, 3), np.float32), np.array([1.0, 2, 3]), axis_name="q")
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.npz"
>>> _ = specstate.io.write(s, path)
>>> specstate.io.read(path).intensity.dtype
dtype('float32')
"""

from ._dispatch import is_euxfel_run, read, write
from ._files import natural_sort_key

__all__ = ["read", "write", "natural_sort_key", "is_euxfel_run"]
