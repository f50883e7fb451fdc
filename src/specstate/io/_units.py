"""Axis names and units as files spell them (pyFAI, NeXus, column titles) -> specstate's."""

from __future__ import annotations

import re

import numpy as np

from ..spectra import AXIS_UNITS

# pyFAI radial units and common column titles, lower case -> (axis name, unit, factor that
# turns the file's values into specstate's unit). specstate keeps 2θ in degrees, q in 1/Å,
# d in Å and energies in eV, so Spectra.convert_axis works on whatever was read.
_DEG_PER_RAD = 180.0 / np.pi
_ANGSTROM_PER_NM = 10.0
_EV_PER_KEV = 1000.0
UNIT_TOKENS: dict[str, tuple[str, str, float]] = {
    "2th_deg": ("2theta", "deg", 1.0),
    "2th_rad": ("2theta", "deg", _DEG_PER_RAD),
    "2theta": ("2theta", "deg", 1.0),
    "2theta_deg": ("2theta", "deg", 1.0),
    "two_theta": ("2theta", "deg", 1.0),
    "tth": ("2theta", "deg", 1.0),
    "q_a^-1": ("q", "1/angstrom", 1.0),
    "q_nm^-1": ("q", "1/angstrom", 1.0 / _ANGSTROM_PER_NM),
    "q": ("q", "1/angstrom", 1.0),
    "d_a": ("d", "angstrom", 1.0),
    "d_nm": ("d", "angstrom", _ANGSTROM_PER_NM),
    "d": ("d", "angstrom", 1.0),
    "energy_ev": ("energy", "eV", 1.0),
    "e_ev": ("energy", "eV", 1.0),
    "energy_kev": ("energy", "eV", _EV_PER_KEV),
    "e_kev": ("energy", "eV", _EV_PER_KEV),
    "energy": ("energy", "eV", 1.0),
    "r_mm": ("r", "mm", 1.0),
    "chi_deg": ("chi", "deg", 1.0),
    "index": ("index", "", 1.0),
}

# NeXus @units spellings -> (specstate unit, factor), per axis name.
_UNIT_ALIASES: dict[str, dict[str, tuple[str, float]]] = {
    "2theta": {"deg": ("deg", 1.0), "degree": ("deg", 1.0), "degrees": ("deg", 1.0),
               "rad": ("deg", _DEG_PER_RAD), "radian": ("deg", _DEG_PER_RAD)},
    "q": {"1/angstrom": ("1/angstrom", 1.0), "angstrom^-1": ("1/angstrom", 1.0),
          "1/a": ("1/angstrom", 1.0), "a^-1": ("1/angstrom", 1.0),
          "1/nm": ("1/angstrom", 1 / _ANGSTROM_PER_NM),
          "nm^-1": ("1/angstrom", 1 / _ANGSTROM_PER_NM)},
    "d": {"angstrom": ("angstrom", 1.0), "a": ("angstrom", 1.0),
          "nm": ("angstrom", _ANGSTROM_PER_NM)},
    "energy": {"ev": ("eV", 1.0), "kev": ("eV", _EV_PER_KEV)},
}

# Dataset / column names that mean a known axis.
_NAME_ALIASES = {
    "2theta": "2theta", "two_theta": "2theta", "tth": "2theta", "2th": "2theta",
    "twotheta": "2theta", "theta2": "2theta",
    "q": "q", "d": "d", "d_spacing": "d", "energy": "energy", "e": "energy",
    "photon_energy": "energy", "index": "index",
}

#: pyFAI writes the wavelength in metres; anything this small cannot be ångström.
_METRE_THRESHOLD = 1e-6
_ANGSTROM_PER_METRE = 1e10
_WAVELENGTH_DIGITS = 12
_WAVELENGTH_RE = re.compile(r"wavelength\s*[:=]\s*([-+0-9.eE]+)\s*(\S*)", re.IGNORECASE)
_UNIT_RE = re.compile(r"^\s*unit\s*[:=]\s*(\S+)", re.IGNORECASE)


def from_token(token: str) -> tuple[str, str, float] | None:
    """(axis name, unit, factor) for a pyFAI unit or column title, or None if unknown."""
    return UNIT_TOKENS.get(token.strip().lower())


def to_token(axis_name: str, axis_unit: str) -> str:
    """The pyFAI-like token written in text headers for an axis (e.g. ``2th_deg``)."""
    for token, (name, unit, factor) in UNIT_TOKENS.items():
        if name == axis_name and unit == axis_unit and factor == 1.0 and "_" in token:
            return token.replace("_a^-1", "_A^-1").replace("_a", "_A").replace("_ev", "_eV")
    if axis_name == "index" or not axis_unit:
        return axis_name
    return f"{axis_name}_{axis_unit}"


def normalise(name: str | None, unit: str | None, values: np.ndarray):
    """Map an axis name and unit as found in a file to specstate's, converting the values.

    Returns
    -------
    name, unit, values
        ``values`` is multiplied into specstate's unit (2θ deg, q 1/Å, d Å, energy eV) when
        the file used another one (rad, 1/nm, keV ...); unknown names and units pass unchanged.
    """
    raw_name = (name or "index").strip()
    key = raw_name.lower()
    token = from_token(key) if unit is None else None
    if token is not None:
        new_name, new_unit, factor = token
    else:
        new_name = _NAME_ALIASES.get(key, raw_name)
        new_unit, factor = unit, 1.0
        if unit is not None:
            alias = _UNIT_ALIASES.get(new_name, {}).get(unit.strip().lower())
            if alias is not None:
                new_unit, factor = alias
        if new_unit is None:
            new_unit = AXIS_UNITS.get(new_name, "")
    if factor != 1.0:
        values = np.asarray(values, dtype=np.float64) * factor
    return new_name, new_unit, values


def header_axis(header_lines: list[str]) -> tuple[str, str, float] | None:
    """Axis (name, unit, factor) from '#' header lines as pyFAI writes them, or None.

    Looks for ``# Unit: 2th_deg`` first, then for a column-title line whose first word is a
    known unit (pyFAI ends its header with ``#  2th_deg  I``).
    """
    for line in header_lines:
        match = _UNIT_RE.match(line.lstrip("#"))
        if match and from_token(match.group(1)):
            return from_token(match.group(1))
    for line in reversed(header_lines):
        words = line.lstrip("#").replace(",", " ").split()
        if words and from_token(words[0]):
            return from_token(words[0])
    return None


def header_wavelength(header_lines: list[str]) -> float | None:
    """Wavelength in Å from a ``# Wavelength: 4.1e-11`` header line (pyFAI: metres)."""
    for line in header_lines:
        match = _WAVELENGTH_RE.search(line)
        if not match:
            continue
        try:
            value = float(match.group(1))
        except ValueError:
            continue
        unit = match.group(2).lower()
        if unit in ("m", "") and value < _METRE_THRESHOLD:
            value *= _ANGSTROM_PER_METRE
        elif unit == "nm":
            value *= _ANGSTROM_PER_NM
        # drop the float noise of the unit change (4.1e-11 m -> 0.41, not 0.41000000000000003)
        return float(f"{value:.{_WAVELENGTH_DIGITS}g}")
    return None
