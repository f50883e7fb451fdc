"""Crystal phases for the powder-diffraction simulator: cells, reflections, intensities.

A :class:`Phase` is a cubic or hexagonal cell with its atoms (fractional positions, site
occupancies) and an equation of state. :func:`reflection_table` lists its reflections that a
pattern can show, grouped by d-spacing (so the group's summed ``|F|^2`` carries the
multiplicity), and :func:`structure_factor_sq` evaluates ``sum |F(hkl)|^2`` of each group for
any ``sin(theta)/lambda`` with Cromer–Mann atomic form factors and an isotropic Debye–Waller
factor. Nothing here is fitted to data: the numbers are textbook values, cited where defined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._eos import eos_volume

__all__ = [
    "Phase",
    "ReflectionTable",
    "reflection_table",
    "structure_factor_sq",
    "atomic_form_factor",
    "BCC_FE",
    "HCP_FE",
    "B1_OXIDE",
]

# Cromer–Mann coefficients (a1, b1, a2, b2, a3, b3, a4, b4, c) of the neutral atoms,
# International Tables for Crystallography Vol. C, Table 6.1.1.4;
# f(s) = sum_i a_i exp(-b_i s^2) + c with s = sin(theta)/lambda in 1/angstrom.
CROMER_MANN = {
    "Fe": (11.7695, 4.7611, 7.3573, 0.3072, 3.5222, 15.3535, 2.3045, 76.8805, 1.0369),
    "Mg": (5.4204, 2.8275, 2.1735, 79.2611, 1.2269, 0.3808, 2.3073, 7.1937, 0.8584),
    "O": (3.0485, 13.2771, 2.2868, 5.7011, 1.5463, 0.3239, 0.8670, 32.9089, 0.2508),
}

# Largest Miller index enumerated; with d_min ~ 0.8 angstrom and cells below 5 angstrom
# no reflection needs more.
_MAX_INDEX = 8
# Relative tolerance on d_min (rounding of the enumerated d-spacings).
_D_TOLERANCE = 1e-9
# A line whose |F|^2 is below this fraction of the strongest is a systematic absence.
_ABSENT = 1e-8


def atomic_form_factor(element: str, s) -> np.ndarray:
    """X-ray atomic form factor of a neutral atom (Cromer–Mann).

    Parameters
    ----------
    element : {'Fe', 'Mg', 'O'}
        Chemical symbol.
    s : array-like
        ``sin(theta) / lambda`` in 1/Å.

    Returns
    -------
    numpy.ndarray
        ``f(s)`` in electrons; ``f(0)`` is the atomic number.

    Examples
    --------
    >>> round(float(atomic_form_factor("Fe", 0.0)), 1)
    26.0
    """
    a1, b1, a2, b2, a3, b3, a4, b4, c = CROMER_MANN[element]
    s2 = np.asarray(s, dtype=np.float64) ** 2
    return (
        a1 * np.exp(-b1 * s2)
        + a2 * np.exp(-b2 * s2)
        + a3 * np.exp(-b3 * s2)
        + a4 * np.exp(-b4 * s2)
        + c
    )


@dataclass(frozen=True)
class Phase:
    """A crystalline phase: lattice, atoms and equation of state.

    Parameters
    ----------
    name : str
        Short name used in track names (``'bcc'``, ``'hcp'``, ``'oxide'``).
    lattice : {'cubic', 'hexagonal'}
        Crystal family; the cell is described by ``a`` (and ``c = c_over_a * a``).
    sites : tuple of (dict, tuple)
        Atoms of the conventional cell: ``({element: occupancy}, (x, y, z))``.
    v0 : float
        Cell volume at zero pressure, Å^3 (conventional cell).
    k0, k0_prime : float
        Bulk modulus (GPa) and its pressure derivative.
    c_over_a : float, optional
        Axial ratio of a hexagonal cell, kept constant with pressure.
    b_iso : float
        Isotropic Debye–Waller B factor, Å^2 (room temperature).
    eos : str
        Equation-of-state form, see :func:`specstate.datasets._eos.eos_pressure`.
    """

    name: str
    lattice: str
    sites: tuple
    v0: float
    k0: float
    k0_prime: float
    c_over_a: float | None = None
    b_iso: float = 0.35
    eos: str = "birch-murnaghan"
    references: tuple = field(default=(), compare=False)

    def volume(self, pressure) -> np.ndarray:
        """Cell volume (Å^3) at `pressure` (GPa)."""
        return eos_volume(pressure, self.v0, self.k0, self.k0_prime, self.eos)

    def lattice_a(self, pressure) -> np.ndarray:
        """Lattice parameter ``a`` (Å) at `pressure` (GPa); ``c = c_over_a * a``."""
        v = self.volume(pressure)
        if self.lattice == "cubic":
            return np.cbrt(v)
        # hexagonal: V = sqrt(3)/2 a^2 c = sqrt(3)/2 (c/a) a^3
        return np.cbrt(v / (np.sqrt(3.0) / 2.0 * self.c_over_a))


# fcc translations (B1 = two interpenetrating fcc lattices).
_FCC = ((0.0, 0.0, 0.0), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0))

#: alpha-Fe, bcc (Im-3m). a0 = 2.8665 Å (V0 = 23.55 Å^3 per 2-atom cell),
#: K0 = 170 GPa, K0' = 4.5 (close to Dewaele et al. 2006 / Dorogokupets et al. 2017).
BCC_FE = Phase(
    "bcc", "cubic",
    (({"Fe": 1.0}, (0.0, 0.0, 0.0)), ({"Fe": 1.0}, (0.5, 0.5, 0.5))),
    v0=2.8665**3, k0=170.0, k0_prime=4.5, b_iso=0.35,
    references=("Dewaele et al., PRL 97, 215504 (2006)",),
)

#: epsilon-Fe, hcp (P6_3/mmc), atoms at (1/3, 2/3, 1/4) and (2/3, 1/3, 3/4).
#: V0 = 22.43 Å^3 per 2-atom cell (11.21 Å^3/atom), K0 = 165 GPa, K0' = 5.0, c/a = 1.603
#: (Dewaele et al. 2006: V0 = 11.214 Å^3/atom, K0 = 163.4 GPa, K0' = 5.38).
HCP_FE = Phase(
    "hcp", "hexagonal",
    (({"Fe": 1.0}, (1 / 3, 2 / 3, 0.25)), ({"Fe": 1.0}, (2 / 3, 1 / 3, 0.75))),
    v0=22.43, k0=165.0, k0_prime=5.0, c_over_a=1.603, b_iso=0.30,
    references=("Dewaele et al., PRL 97, 215504 (2006)",),
)

#: (Mg0.2Fe0.8)O ferropericlase/magnesiowustite, B1 rock salt (Fm-3m), cation at 0 0 0, O at
#: 1/2 0 0 (fcc). a0 = 4.30 Å, K0 = 160 GPa, K0' = 4.0 (Fe-rich (Mg,Fe)O, e.g. Fei et al. 2007).
B1_OXIDE = Phase(
    "oxide", "cubic",
    tuple(({"Mg": 0.2, "Fe": 0.8}, t) for t in _FCC)
    + tuple(({"O": 1.0}, ((t[0] + 0.5) % 1, t[1], t[2])) for t in _FCC),
    v0=4.30**3, k0=160.0, k0_prime=4.0, b_iso=0.50,
    references=("Fei et al., GRL 34, L17307 (2007)",),
)


@dataclass(frozen=True)
class ReflectionTable:
    """The lines of a phase's powder pattern (equivalent reflections merged).

    Attributes
    ----------
    phase : Phase
        The phase.
    names : list of str
        ``'<phase> <hkl>'`` per line, e.g. ``'bcc 110'``; overlapping families are joined
        with ``/`` (``'oxide 333/511'``).
    hkl : numpy.ndarray of shape (n_lines, 3)
        A representative (h, k, l) per line.
    cos_terms : numpy.ndarray of shape (n_lines, n_sites, n_sites)
        ``sum over the line's hkl of cos(2 pi hkl . (r_i - r_j))``: with the site form
        factors ``f_i`` the line's summed ``|F|^2 = f^T C f``.
    """

    phase: Phase
    names: list
    hkl: np.ndarray
    cos_terms: np.ndarray

    def inverse_d_sq(self, a, c=None) -> np.ndarray:
        """``1/d^2`` (1/Å^2) of each line for lattice parameters `a` (and `c`), shape (n, lines).

        Cubic: ``1/d^2 = (h^2 + k^2 + l^2) / a^2``. Hexagonal:
        ``1/d^2 = 4/3 (h^2 + hk + k^2) / a^2 + l^2 / c^2``.
        """
        a = np.asarray(a, dtype=np.float64)[..., np.newaxis]
        h, k, l = self.hkl.T.astype(np.float64)  # noqa: E741 - Miller index l
        if self.phase.lattice == "cubic":
            return (h**2 + k**2 + l**2) / a**2
        c = np.asarray(c, dtype=np.float64)[..., np.newaxis]
        return 4.0 / 3.0 * (h**2 + h * k + k**2) / a**2 + l**2 / c**2


def _line_key(phase: Phase, hkl: np.ndarray) -> np.ndarray:
    """Integer invariants that fix d for every cell of the family (pressure-independent)."""
    h, k, l = hkl.T  # noqa: E741
    if phase.lattice == "cubic":
        return (h**2 + k**2 + l**2)[:, None]
    return np.stack([h**2 + h * k + k**2, l**2], axis=1)


def reflection_table(phase: Phase, d_min: float) -> ReflectionTable:
    """All lines of `phase` with ``d >= d_min`` at zero pressure and non-zero intensity.

    Every (h, k, l) in a cube of indices is enumerated; those with the same d-spacing
    invariant (``h^2+k^2+l^2`` for cubic, ``(h^2+hk+k^2, l^2)`` for hexagonal cells) form one
    line, so the summed ``|F|^2`` includes the multiplicity. Systematic absences (bcc:
    h+k+l odd; fcc: mixed parity; hcp: h+2k = 3n with l odd) come out of the structure
    factor itself and are dropped.

    Parameters
    ----------
    phase : Phase
        The phase.
    d_min : float
        Smallest d-spacing (Å) at zero pressure to keep.

    Returns
    -------
    ReflectionTable
        Lines sorted by decreasing d.
    """
    r = np.arange(-_MAX_INDEX, _MAX_INDEX + 1)
    hkl = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    hkl = hkl[np.any(hkl != 0, axis=1)]
    a0 = float(phase.lattice_a(0.0))
    c0 = None if phase.c_over_a is None else a0 * phase.c_over_a
    table0 = ReflectionTable(phase, [], hkl, np.empty(0))
    d = 1.0 / np.sqrt(table0.inverse_d_sq(a0, c0))
    keep = d >= d_min * (1 - _D_TOLERANCE)
    hkl, d = hkl[keep], d[keep]

    positions = np.array([pos for _, pos in phase.sites])  # (n_sites, 3)
    phase_angle = 2 * np.pi * hkl @ positions.T  # (n_hkl, n_sites)
    # cos(phi_i - phi_j) for each reflection
    pair = np.cos(phase_angle[:, :, None] - phase_angle[:, None, :])

    # |F(hkl)|^2 with the real form factors at zero pressure (B1: F(111) = 4 (f_cation - f_O)).
    f_sites = _site_form_factors(phase, 0.5 / d)  # (n_hkl, n_sites)
    f2_hkl = np.einsum("ni,nij,nj->n", f_sites, pair, f_sites)

    keys, inverse = np.unique(_line_key(phase, hkl), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n_lines, n_sites = len(keys), len(phase.sites)
    cos_terms = np.zeros((n_lines, n_sites, n_sites))
    np.add.at(cos_terms, inverse, pair)
    strength = np.bincount(inverse, weights=f2_hkl, minlength=n_lines)
    scale = strength.max()
    present = strength > _ABSENT * scale

    canonical = _cubic_family if phase.lattice == "cubic" else _hex_family
    names, reps, terms, d_line = [], [], [], []
    for line in np.flatnonzero(present):  # set-up only: a few dozen lines
        members = np.flatnonzero(inverse == line)
        families: dict[tuple, list] = {}
        for i in members:
            families.setdefault(canonical(hkl[i]), []).append(i)
        shown = sorted(
            (f for f, idx in families.items() if f2_hkl[idx].sum() > _ABSENT * scale),
            key=lambda f: (max(f), f),
        )
        names.append(f"{phase.name} " + "/".join("".join(str(x) for x in f) for f in shown))
        reps.append(shown[0])
        terms.append(cos_terms[line])
        d_line.append(d[members[0]])
    order = np.argsort(d_line)[::-1]
    return ReflectionTable(
        phase,
        [names[i] for i in order],
        np.array([reps[i] for i in order], dtype=np.int64).reshape(-1, 3),
        np.array([terms[i] for i in order]).reshape(-1, n_sites, n_sites),
    )


def _cubic_family(m) -> tuple:
    """The (h, k, l) with h >= k >= l >= 0 of a cubic reflection's family."""
    return tuple(sorted((abs(int(x)) for x in m), reverse=True))


def _hex_family(m) -> tuple:
    """A canonical (h, k, l) with h >= k >= 0, l >= 0 of a hexagonal reflection's family."""
    h, k, l = (int(x) for x in m)  # noqa: E741
    # The six-fold rotations of (h, k) in the hexagonal basis, and their mirrors.
    cands = [(h, k), (-k, h + k), (-h - k, h), (-h, -k), (k, -h - k), (h + k, -h)]
    cands += [(y, x) for x, y in cands]
    best = max(c for c in cands if c[0] >= 0 and c[1] >= 0)
    return (best[0], best[1], abs(l))


def _site_form_factors(phase: Phase, s) -> np.ndarray:
    """Occupancy-weighted form factor of each site, shape ``s.shape + (n_sites,)``."""
    by_element = {
        el: atomic_form_factor(el, s)
        for species, _ in phase.sites
        for el in species
    }
    return np.stack(
        [sum(occ * by_element[el] for el, occ in species.items()) for species, _ in phase.sites],
        axis=-1,
    )


def structure_factor_sq(table: ReflectionTable, s) -> np.ndarray:
    """Summed ``|F|^2`` of each line (electrons^2), multiplicity and Debye–Waller included.

    Parameters
    ----------
    table : ReflectionTable
        The phase's lines.
    s : array-like of shape (..., n_lines)
        ``sin(theta) / lambda = 1 / (2 d)`` of each line, 1/Å.

    Returns
    -------
    numpy.ndarray of shape (..., n_lines)
        ``exp(-2 B s^2) * sum_hkl |sum_j f_j(s) exp(2 pi i hkl . r_j)|^2``.
    """
    s = np.asarray(s, dtype=np.float64)
    f_sites = _site_form_factors(table.phase, s)  # (..., n_lines, n_sites)
    f2 = np.einsum("...li,lij,...lj->...l", f_sites, table.cos_terms, f_sites)
    return f2 * np.exp(-2.0 * table.phase.b_iso * s**2)
