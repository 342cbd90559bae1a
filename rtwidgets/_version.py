"""The package version, in a module of its own.

Why: the capture header records which rtwidgets wrote it, and ``_capture`` sits near the
bottom of the layers; reading the version from the package root would make the root (which
names every layer) an import of the capture, a circle. ``pyproject.toml`` reads the version
from here too, so there is one place to bump it.
"""

__version__ = "0.1.0"
