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
    # further column titles, as canonical_token() respells them
    "2th": ("2theta", "deg", 1.0),
    "2theta_rad": ("2theta", "deg", _DEG_PER_RAD),
    "tth_deg": ("2theta", "deg", 1.0),
    "ev": ("energy", "eV", 1.0),
    "kev": ("energy", "eV", _EV_PER_KEV),
    "photon_energy": ("energy", "eV", 1.0),
    "photon_energy_ev": ("energy", "eV", 1.0),
    "e": ("energy", "eV", 1.0),
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
_ANGSTROM_PER_PM = 0.01
_WAVELENGTH_DIGITS = 12
#: ``# Wavelength: 4.1e-11``, ``# wavelength 0.4133 A``, ``# lambda = 0.4133 Å``
_WAVELENGTH_RE = re.compile(
    r"\b(?:wavelength|lambda|wave_length|λ)(?:\s*[_(\[]\s*(?P<u1>a|å|angstrom|nm|pm|m)\s*[)\]]?)?"
    r"\s*[:=]?\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<u2>[^\s,;]*)",
    re.IGNORECASE)
_WAVELENGTH_WORD = re.compile(r"\b(?:wavelength|lambda|wave_length)\b|λ", re.IGNORECASE)
_UNIT_RE = re.compile(r"^\s*unit\s*[:=]\s*(\S+)", re.IGNORECASE)
#: a header line that titles the columns: ``# columns: 2theta_deg counts``, ``# x y``
_COLUMNS_RE = re.compile(r"^\s*(?:columns?|fields|x\s*axis|axis)\s*[:=]\s*(.*)$", re.IGNORECASE)
# spellings of the same thing, turned into the tokens of UNIT_TOKENS
_SPELLINGS = (("θ", "theta"), ("°", "deg"), ("degrees", "deg"), ("degree", "deg"),
              ("2-theta", "2theta"), ("2_theta", "2theta"), ("twotheta", "2theta"),
              ("two_theta", "2theta"), ("ångström", "a"), ("angstrom", "a"), ("å", "a"),
              ("1/a", "a^-1"), ("1/nm", "nm^-1"), ("a-1", "a^-1"), ("nm-1", "nm^-1"),
              ("inv_a", "a^-1"), ("inv_nm", "nm^-1"))
def canonical_token(token: str) -> str:
    """A column title respelled the way :data:`UNIT_TOKENS` spells it.

    ``2θ (deg)``, ``2Theta[degrees]``, ``two_theta_deg`` -> ``2theta_deg``; ``q(1/Å)`` ->
    ``q_a^-1``; ``Energy (keV)`` -> ``energy_kev``.
    """
    t = token.strip().lower()
    for old, new in _SPELLINGS:
        t = t.replace(old, new)
    t = re.sub(r"\s*[\(\[]\s*", "_", t)
    t = re.sub(r"[\)\]]", "", t).strip("_ ")
    return t.replace(" ", "_")


def from_token(token: str) -> tuple[str, str, float] | None:
    """(axis name, unit, factor) for a pyFAI unit or column title, or None if unknown."""
    key = token.strip().lower()
    found = UNIT_TOKENS.get(key)
    if found is None:
        key = canonical_token(token)
        found = UNIT_TOKENS.get(key)
    return found


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
    """Axis (name, unit, factor) from '#' header lines, or None.

    In this order: ``# Unit: 2th_deg`` (pyFAI), ``# columns: 2theta_deg counts`` (also
    ``column:``, ``fields:``, ``axis:``), then a column-title line whose first word is a known
    axis (pyFAI ends its header with ``#  2th_deg  I``; ``# 2theta intensity`` works too).
    Known axes and their spellings: :data:`UNIT_TOKENS` and :func:`canonical_token`.
    """
    for line in header_lines:
        match = _UNIT_RE.match(line.lstrip("#"))
        if match and from_token(match.group(1)):
            return from_token(match.group(1))
    for line in header_lines:
        match = _COLUMNS_RE.match(line.lstrip("#"))
        if match:
            words = _title_words(match.group(1))
            if words and from_token(words[0]):
                return from_token(words[0])
    for line in reversed(header_lines):
        words = _title_words(line.lstrip("#"))
        if words and from_token(words[0]):
            return from_token(words[0])
    return None


def _title_words(text: str) -> list[str]:
    """Column titles of a header line; a unit in brackets stays with its title."""
    text = re.sub(r"\s*([\(\[])\s*", r"\1", text)  # '2theta (deg)' -> '2theta(deg)'
    return text.replace(",", " ").replace("\t", " ").split()


def header_wavelength(header_lines: list[str]) -> float | None:
    """Wavelength in Å from a header line such as ``# Wavelength: 4.1e-11`` (pyFAI: metres).

    Also ``# wavelength 0.4133 A``, ``# lambda = 0.4133 Å``, ``# Wavelength (nm): 0.04133``:
    a unit after the value or after the word (Å, angstrom, nm, pm, m); without one, a value
    below 1e-6 is in metres and any other in Å.
    """
    for line in header_lines:
        match = _WAVELENGTH_RE.search(line)
        if not match:
            continue
        try:
            value = float(match.group("value"))
        except ValueError:
            continue
        unit = (match.group("u1") or match.group("u2") or "").lower().strip("()[]")
        if unit in ("m", "") and value < _METRE_THRESHOLD:
            value *= _ANGSTROM_PER_METRE
        elif unit == "nm":
            value *= _ANGSTROM_PER_NM
        elif unit == "pm":
            value *= _ANGSTROM_PER_PM
        # drop the float noise of the unit change (4.1e-11 m -> 0.41, not 0.41000000000000003)
        return float(f"{value:.{_WAVELENGTH_DIGITS}g}")
    return None


def mentions_wavelength(header_lines: list[str]) -> str | None:
    """The first header line that names a wavelength (understood or not), or None."""
    return next((line for line in header_lines if _WAVELENGTH_WORD.search(line)), None)
