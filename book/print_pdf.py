"""The whole book as one PDF, built offline: Jupyter Book's single-page HTML build, typeset by
MathJax and printed by the same headless Chromium the site's tests use (no browser download).

    python book/print_pdf.py _build/singlehtml _build/html/downloads      (make pdf)

writes ``frames-to-policies-<version>.pdf`` into the second folder, which the site links to.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

from selenium.webdriver.common.print_page_options import PrintOptions
from site_browser import chromium, load, serve

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
from f2p_book import PDF  # noqa: E402  (the name the site links to)

A4_CM = (21.0, 29.7)


def print_book(single_html: Path, folder: Path) -> Path:
    """Print ``single_html/index.html`` to ``folder``/:data:`PDF` (written whole or not at all)."""
    if not (single_html / "index.html").is_file():
        raise SystemExit(f"{single_html}/index.html missing: run the singlehtml build first")
    options = PrintOptions()
    options.page_width, options.page_height = A4_CM
    options.background = True
    options.margin_top = options.margin_bottom = 1.5
    options.margin_left = options.margin_right = 1.5
    with serve(single_html) as origin, chromium(timeout_s=600) as browser:
        load(browser, f"{origin}/index.html", settle_ms=3000)
        pdf = base64.b64decode(browser.print_page(options))
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
