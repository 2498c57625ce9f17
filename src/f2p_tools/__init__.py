"""The course's tooling, in one importable place beside the teaching package ``f2p``.

The teaching package (``src/f2p``) is what a reader installs; this one is what builds, tests and
publishes the course from a checkout of the repository, and it is not in the wheel
(``pyproject.toml`` packages ``f2p`` alone; the editable install of ``make`` puts ``src/`` on the
path, so both import from a checkout). It needs the repository's files (``chapters/``,
``_config.yml``) and the ``book`` and ``dev`` extras, neither of which a reader has.

- :mod:`f2p_tools.settings`: the settings the tooling shares (cell time limits, the book's config).
- :mod:`f2p_tools.book`: the Sphinx extension (setup cell, downloads, launch buttons, results
  directive) and the site's names (wheel, archive, PDF); ``book/_ext/f2p_book.py`` adapts it.
- :mod:`f2p_tools.runtimes`: run times on the pages; ``book/_ext/f2p_runtimes.py`` adapts it.
- :mod:`f2p_tools.clean_notebooks`: a page's resolved doctree as a reader's notebook.
- :mod:`f2p_tools.runner`: the notebook runner of the tests, the GPU suite and the stress script.
- :mod:`f2p_tools.reader_notebooks`, :mod:`f2p_tools.lab`: the reader's notebooks; ``make lab``.
- :mod:`f2p_tools.site_browser`, :mod:`f2p_tools.print_pdf`: headless Chromium; ``make pdf``.
- :mod:`f2p_tools.notebooks_branch`: ``make notebooks``.
- :mod:`f2p_tools.grade`: batch grading of the instructors' kit (``book/grade.py``).

Why not ``f2p._dev``: everything under ``f2p`` ships in the wheel, and
``tests/test_packaging.py`` imports every module of the wheel in an environment with the wheel's
requirements alone, where this tooling's imports (Sphinx, MyST-NB, nbclient) are missing.
"""

from f2p_tools.settings import ROOT

__all__ = ["ROOT"]
