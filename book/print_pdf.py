"""The whole book as one PDF, built offline: Jupyter Book's single-page HTML build, typeset by
MathJax and printed by the same headless Chromium the site's tests use (no browser download).

    python book/print_pdf.py _build/singlehtml _build/html/downloads      (make pdf)

writes ``frames-to-policies-<version>.pdf`` into the second folder, which the site links to.
"""

from __future__ import annotations

import base64
import re
import sys
import time
from pathlib import Path

from site_browser import chromium, load, serve

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
from f2p_book import PDF  # noqa: E402  (the name the site links to)

CM = 1 / 2.54  # DevTools measures paper in inches
PRINT_OPTIONS = {
    "paperWidth": 21.0 * CM,  # A4
    "paperHeight": 29.7 * CM,
    **{f"margin{side}": 1.5 * CM for side in ("Top", "Bottom", "Left", "Right")},
    "printBackground": True,
    "displayHeaderFooter": True,
    "headerTemplate": "<span></span>",
    "footerTemplate": '<div style="font-size:8px;width:100%;text-align:center">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>',
}


def print_book(single_html: Path, folder: Path) -> Path:
    """Print ``single_html/index.html`` to ``folder``/:data:`PDF` (written whole or not at all)."""
    if not (single_html / "index.html").is_file():
        raise SystemExit(f"{single_html}/index.html missing: run the singlehtml build first")
    index = (single_html / "index.html").read_text()
    redirect = re.search(r'url=([^"]+)"', index)  # Jupyter Book's index points to the root page
    if redirect:  # written at book/intro.html, its links are relative to the folder's root
        (single_html / "book.html").write_text((single_html / redirect.group(1)).read_text())
    page = "book.html" if redirect else "index.html"
    with serve(single_html) as origin, chromium(timeout_s=600) as browser:
        load(browser, f"{origin}/{page}", settle_ms=3000)
        # DevTools' printToPDF: WebDriver's print command gives up on a long book after 10 s
        printed = browser.execute_cdp_cmd("Page.printToPDF", PRINT_OPTIONS)
        pdf = base64.b64decode(printed["data"])
    if not pdf.startswith(b"%PDF"):
        raise RuntimeError("Chromium did not return a PDF")
    target = folder / PDF
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".pdf.tmp")
    partial.write_bytes(pdf)
    return partial.replace(target)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    start = time.perf_counter()
    written = print_book(Path(sys.argv[1]), Path(sys.argv[2]))
    megabytes = written.stat().st_size / 1e6
    print(f"wrote {written} ({megabytes:.1f} MB) in {time.perf_counter() - start:.0f} s")
