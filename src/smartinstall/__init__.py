"""smartinstall: an open-source implementation of Cisco Smart Install."""

from importlib.metadata import PackageNotFoundError, version

#: the version of a tree nobody installed (pyproject.toml's [tool.setuptools_scm] fallback)
FALLBACK_VERSION = "0.1.0"

try:
    # set by setuptools-scm from the git tags when the package was built or installed
    __version__ = version(__name__)
except PackageNotFoundError:
    __version__ = FALLBACK_VERSION
