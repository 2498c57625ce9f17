"""The book's run-time extension: a thin adapter over :mod:`f2p_tools.runtimes`
(``src/f2p_tools``)."""

from f2p_tools.runtimes import setup

__all__ = ["setup"]
