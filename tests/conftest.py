"""Shared pytest configuration: small simulated data, headless plotting, quiet threads."""

import os

# Figures in tests never open a window.
os.environ.setdefault("MPLBACKEND", "Agg")
