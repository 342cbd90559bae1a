"""rtwidgets: Jupyter-native widgets, capture and analysis for OpenAI Realtime calls."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
