"""The errors, importable from the HTTP layer too; each is defined once, in :mod:`swift_conductor.errors`."""

from ..errors import *  # noqa: F403
from ..errors import __all__ as __all__
