"""The book's Sphinx extension: a thin adapter over :mod:`f2p_tools.book` (``src/f2p_tools``),
where its code lives beside the notebook runner, the PDF printer and the kit's helpers, which
import the same functions."""

from f2p_tools.book import setup

__all__ = ["setup"]
