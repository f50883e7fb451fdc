"""The ensemble stage: the whole-spectrum linear member, stacking, calibration, quality.

* :mod:`._linear` — shrinkage LDA (Ledoit-Wolf) in closed form, the linear member;
* :mod:`._stacking` — member weights and class bias by stacking on held-out
  log-probabilities of original references, and the calibration temperature;
* :mod:`._quality` — the checks behind :class:`~specstate.exceptions.ModelQualityWarning`.
"""

from ._linear import LinearFit, fit_lda, lda_log_proba, standardize
from ._quality import QualityReport, assess_quality
from ._stacking import combine, fit_temperature, fit_weights, region_skill

__all__ = [
    "LinearFit",
    "fit_lda",
    "lda_log_proba",
    "standardize",
    "QualityReport",
    "assess_quality",
    "combine",
    "fit_weights",
    "fit_temperature",
    "region_skill",
]
