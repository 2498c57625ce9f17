"""Grade a folder of submissions with a chapter's autograder into one table of scores.

    python book/grade.py <chapter>-autograder.zip submissions/ [--out grades] [--jobs N]

The code is :mod:`f2p_tools.grade` (``src/f2p_tools/grade.py``); this is its command line, at
the path the teaching guide names.
"""

import sys

from f2p_tools.grade import main

if __name__ == "__main__":
    sys.exit(main())
