"""Equations of state: pressure as a function of volume, and its (vectorised) inverse.

Both forms are the ones used in high-pressure crystallography (EosFit, Angel et al. 2014):

* third-order Birch–Murnaghan,
  ``P = 3/2 K0 (x^-7 - x^-5) [1 + 3/4 (K0' - 4)(x^-2 - 1)]`` with ``x = (V/V0)^(1/3)``;
* Vinet, ``P = 3 K0 (1 - x) / x^2 exp(3/2 (K0' - 1)(1 - x))``.

The inverse ``V(P)`` is found by interpolating ``P(V)`` on a dense, monotonic grid of
``V/V0`` (no per-value root finding), which is exact to ~1e-9 in ``V/V0``.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import SpectraFormatError

__all__ = ["eos_pressure", "eos_volume"]

#: Equation-of-state forms understood by :func:`eos_pressure` and :func:`eos_volume`.
EOS_FORMS = ("birch-murnaghan", "vinet")

# V/V0 grid of the inverse: from 45 % compression (~ 300+ GPa for iron-like K0) to
# 5 % expansion (small negative pressures); dense enough that linear interpolation is exact
# to far below anything a diffraction pattern resolves.
_V_RATIO_MIN = 0.55
_V_RATIO_MAX = 1.05
_V_RATIO_GRID_POINTS = 20001


def eos_pressure(v_ratio, k0: float, k0_prime: float, form: str = "birch-murnaghan"):
    """Pressure (in the unit of `k0`) at the relative volume ``V/V0``.

    Parameters
    ----------
    v_ratio : array-like
        Relative volume ``V/V0`` (> 0).
    k0 : float
        Isothermal bulk modulus at zero pressure (e.g. GPa).
    k0_prime : float
        Its pressure derivative ``K0'`` (dimensionless, ~4–6 for metals and oxides).
    form : {'birch-murnaghan', 'vinet'}
        Third-order Birch–Murnaghan or Vinet equation of state.

    Returns
    -------
    numpy.ndarray
        Pressure, same shape as `v_ratio`.

    Examples
    --------
    >>> float(eos_pressure(1.0, 170.0, 4.5))
    0.0
    """
    v = np.asarray(v_ratio, dtype=np.float64)
    if form == "birch-murnaghan":
        f = v ** (-2.0 / 3.0)
        return 1.5 * k0 * (f**3.5 - f**2.5) * (1.0 + 0.75 * (k0_prime - 4.0) * (f - 1.0))
    if form == "vinet":
        x = np.cbrt(v)
        return 3.0 * k0 * (1.0 - x) / x**2 * np.exp(1.5 * (k0_prime - 1.0) * (1.0 - x))
    raise SpectraFormatError(f"The equation of state must be one of {EOS_FORMS}; got {form!r}.")


def eos_volume(pressure, v0: float, k0: float, k0_prime: float, form: str = "birch-murnaghan"):
    """Volume at `pressure` from an equation of state (vectorised inverse of :func:`eos_pressure`).

    Parameters
    ----------
    pressure : array-like
        Pressures, in the unit of `k0`.
    v0 : float
        Volume at zero pressure (any unit; the result has the same unit).
    k0, k0_prime, form
        See :func:`eos_pressure`.

    Returns
    -------
    numpy.ndarray
        Volumes, same shape as `pressure`.

    Raises
    ------
    SpectraFormatError
        If a pressure lies outside what the grid covers (``V/V0`` in [0.55, 1.05]).

    Examples
    --------
    >>> v = eos_volume([0.0, 13.0], 23.55, 170.0, 4.5)
    >>> bool(v[1] < v[0])
    True
    """
    p = np.asarray(pressure, dtype=np.float64)
    grid = np.linspace(_V_RATIO_MAX, _V_RATIO_MIN, _V_RATIO_GRID_POINTS)  # P increases along it
    p_grid = eos_pressure(grid, k0, k0_prime, form)
    if np.any(p < p_grid[0]) or np.any(p > p_grid[-1]):
        raise SpectraFormatError(
            f"Pressures must lie in [{p_grid[0]:.3g}, {p_grid[-1]:.3g}] for this equation of "
            f"state (K0={k0}, K0'={k0_prime}); got {p.min():.3g}..{p.max():.3g}."
        )
    return v0 * np.interp(p, p_grid, grid)
