"""Frames to Policies: the helper package of the course.

``f2p.utils``   device, seeding, profiles, threads, timer, plot style (every chapter's first cell)
``f2p.checks``  exercise checkers
``f2p.results`` benchmark results (shipped in the package) read by the chapters and results page
``f2p.stats``   uncertainty of compared numbers (binomial intervals)
``f2p.papers``  the papers' reported figures, with their settings, that chapters quote
``f2p.widgets`` sliders over precomputed figures (they work on the static site, no kernel)
``f2p.parallel`` independent training runs (seeds, variants) in parallel processes

Each part of the course adds a subpackage (``video``, ``oad``, ``generative``, ``rl``, ``llm``)
whose modules name the paper and the chapter that teaches them.
"""

# first, before torch loads: empty F2P_* / OMP_* variables count as unset (f2p._environment)
from f2p import _environment  # noqa: F401  # isort: skip
from f2p import checks, papers, parallel, results, stats, utils, widgets

__all__ = ["checks", "papers", "parallel", "results", "stats", "utils", "widgets"]
__version__ = "0.2.0"  # the one place the version is written (pyproject.toml reads it)
__distribution__ = "frames-to-policies"  # on the index (`f2p` there is another project)
