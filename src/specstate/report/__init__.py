"""Reporting: figures of a fitted classifier and of a classified run.

matplotlib is imported only inside the drawing functions (``import specstate.report`` stays
light), and figures are made without ``pyplot``, so they work headless (Agg).
"""

from .figures import demo_figure, plot_region_scores, plot_regions, plot_run, save_figure
from .tables import regions_table

__all__ = [
    "plot_regions", "plot_region_scores", "plot_run", "demo_figure", "save_figure", "regions_table",
]
