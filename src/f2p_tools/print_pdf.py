"""The whole book as one PDF, built offline: Jupyter Book's single-page HTML build, typeset by
MathJax and printed by the same headless Chromium the site's tests use (no browser download).

    python -m f2p_tools.print_pdf _build/singlehtml _build/html/downloads      (make pdf)

writes ``frames-to-policies-<version>.pdf`` into the second folder, which the site links to.

Before printing, the page is laid out as it prints (print media, the printable width of A4) and
whatever is still wider than the column (display math, tables, outputs) is scaled to fit; then
every element is measured, and the print fails, naming them, if any runs past the printable area
or is cut off by its box (issue 39). The contents get page numbers in a second pass: the first
PDF's named destinations (poppler's ``pdfinfo -dests``) say where each chapter starts.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from f2p_tools.book import PDF  # the name the site links to
from f2p_tools.site_browser import chromium, load, serve

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


PRINTABLE_WIDTH_PX = round((21.0 - 2 * 1.5) / 2.54 * 96)  # A4 less the margins, in CSS pixels

FIT_AND_MEASURE = """
const width = arguments[0];
const contentWidth = (el) => {
  const cs = getComputedStyle(el);
  return el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
};
const hidden = (el) => el.closest('mjx-assistive-mml, details:not([open]), .d-print-none, '
  + '.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .prev-next-area, '
  + 'script, style, .headerlink') !== null;
const content = [...document.querySelectorAll('#jb-print-docs-body *, main *, .f2p-print *')]
  .filter((el) => !hidden(el) && el.getClientRects().length > 0);
// Scale what is wider than its column, outermost first (its children follow).
const wide = 'mjx-container[display="true"], div.math, span.math, table, div.cell_output, '
  + 'div.output, '
  + 'div.highlight, img, svg, figure, .f2p-fit';
let scaled = 0;
for (const el of content.filter((e) => e.matches(wide))) {
  const box = el.getBoundingClientRect();
  const room = Math.min(contentWidth(el.parentElement), width - Math.max(box.left, 0));
  const need = Math.max(el.scrollWidth, box.width);
  if (room > 0 && need > room + 1) {
    el.style.zoom = Math.max(room / need, 0.2);
    scaled += 1;
  }
}
// A centred element can still stick out on one side: shrink it about its centre until it fits.
for (const el of content.filter((e) => e.matches(wide))) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && (r.left < -1 || r.right > width + 1)) {
    const centre = (r.left + r.right) / 2;
    const fits = (2 * Math.max(Math.min(centre, width - centre), 0)) / r.width;
    el.style.zoom = Math.max((parseFloat(el.style.zoom) || 1) * fits * 0.99, 0.2);
    scaled += 1;
  }
}
// Then measure: anything past the printable area, or cut off by a box that clips it.
const overflowing = [];
for (const el of content) {
  const r = el.getBoundingClientRect();
  const cs = getComputedStyle(el);
  const clips = !['visible', 'clip'].includes(cs.overflowX) || cs.overflowX === 'clip';
  const cut = clips && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1;
  const inside = overflowing.length && overflowing.at(-1).el.contains(el);
  if (!inside && ((r.width > 0 && (r.right > width + 1 || r.left < -1)) || cut)) {
    const text = (el.textContent || el.getAttribute('src') || '').trim().slice(0, 80);
    const where = `${Math.round(r.left)}..${Math.round(r.right)} px`
      + (cut ? `, cut off: ${el.scrollWidth} px in ${el.clientWidth}` : '');
    const name = `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`;
    overflowing.push({el, what: `${name} (${where}): ${text}`});
  }
}
return {scaled, overflowing: overflowing.map((o) => o.what.replace(/\\s+/g, ' '))};
"""

NUMBER_THE_CONTENTS = """
const pages = arguments[0];
let numbered = 0;
for (const a of document.querySelectorAll('#jb-print-toc a[href^="#"]')) {
  const page = pages[decodeURIComponent(a.getAttribute('href').slice(1))];
  if (page === undefined) continue;
  const span = a.querySelector('.f2p-page') || document.createElement('span');
  span.className = 'f2p-page';
  span.textContent = String(page);
  a.appendChild(span);
  numbered += 1;
}
return numbered;
"""


def named_destinations(pdf: bytes) -> dict[str, int]:
    """The PDF's named destinations (the targets of its internal links) and their pages, read
    by poppler's ``pdfinfo -dests``."""
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        raise SystemExit("pdfinfo missing: apt-get install poppler-utils (make chromium does)")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(pdf)
        tmp.flush()
        listed = subprocess.run(
            [pdfinfo, "-dests", tmp.name], capture_output=True, text=True, check=True
        ).stdout
    found = {}
    for page, name in re.findall(r'^\s*(\d+)\s+\[.*\]\s+"(.*)"$', listed, flags=re.MULTILINE):
        found.setdefault(name, int(page))
    return found


def lay_out_for_print(browser) -> dict:
    """Lay the loaded page out as it prints, scale what is too wide, and measure: returns
    ``{"scaled": n, "overflowing": [description, ...]}``."""
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PRINTABLE_WIDTH_PX, "height": 1200, "deviceScaleFactor": 1, "mobile": False},
    )
    return browser.execute_script(FIT_AND_MEASURE, PRINTABLE_WIDTH_PX)


def print_pdf(browser) -> bytes:
    # DevTools' printToPDF: WebDriver's print command gives up on a long book after 10 s
    printed = browser.execute_cdp_cmd("Page.printToPDF", PRINT_OPTIONS)
    pdf = base64.b64decode(printed["data"])
    if not pdf.startswith(b"%PDF"):
        raise RuntimeError("Chromium did not return a PDF")
    return pdf


def print_page(url: str, target: Path, settle_ms: int = 3000) -> dict:
    """Print the page at ``url`` to ``target``: fitted, measured, and with numbered contents.
    Raises ``SystemExit`` naming what is still wider than the printable area; returns the
    measurement and the number of contents entries given a page."""
    with chromium(timeout_s=600) as browser:
        load(browser, url, settle_ms=settle_ms)
        report = lay_out_for_print(browser)
        if report["overflowing"]:
            listed = "\n  ".join(report["overflowing"][:40])
            raise SystemExit(
                f"{len(report['overflowing'])} elements run past the printable area "
                f"({PRINTABLE_WIDTH_PX} px) or are cut off when printed:\n  {listed}"
            )
        pdf = print_pdf(browser)
        report["numbered"] = browser.execute_script(NUMBER_THE_CONTENTS, named_destinations(pdf))
        if report["numbered"]:  # the numbers fit in the contents' lines: the pages do not move
            pdf = print_pdf(browser)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".pdf.tmp")
    partial.write_bytes(pdf)
    partial.replace(target)
    return report


def print_book(single_html: Path, folder: Path) -> Path:
    """Print ``single_html/index.html`` to ``folder``/:data:`PDF` (written whole or not at all)."""
    if not (single_html / "index.html").is_file():
        raise SystemExit(f"{single_html}/index.html missing: run the singlehtml build first")
    index = (single_html / "index.html").read_text()
    redirect = re.search(r'url=([^"]+)"', index)  # Jupyter Book's index points to the root page
    if redirect:  # written at book/intro.html, its links are relative to the folder's root
        (single_html / "book.html").write_text((single_html / redirect.group(1)).read_text())
    page = "book.html" if redirect else "index.html"
    with serve(single_html) as origin:
        report = print_page(f"{origin}/{page}", folder / PDF)
    print(f"scaled {report['scaled']} wide elements to fit; numbered {report['numbered']} entries")
    return folder / PDF


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    start = time.perf_counter()
    written = print_book(Path(sys.argv[1]), Path(sys.argv[2]))
    megabytes = written.stat().st_size / 1e6
    print(f"wrote {written} ({megabytes:.1f} MB) in {time.perf_counter() - start:.0f} s")
