"""The built site in headless Chromium, offline: a local server and a browser in which no host
but 127.0.0.1 resolves. Used by the site's browser tests and by ``make pdf``."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """A local HTTP server for ``directory``; yields its origin."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@contextlib.contextmanager
def chromium(window: str = "1280,2400", timeout_s: int = 60) -> Iterator[object]:
    """Debian's headless Chromium through chromedriver, with the network cut off."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        raise RuntimeError(
            "Chromium and chromedriver are needed: apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={window}",
        # offline: no host resolves except the local server
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(timeout_s)
    driver.set_script_timeout(timeout_s)
    try:
        yield driver
    finally:
        driver.quit()


def load(browser, url: str, settle_ms: int = 1500) -> None:
    """Open ``url`` and wait until MathJax has typeset the page (if it loads MathJax) and widgets
    had time to render."""
    browser.get(url)
    browser.execute_async_script(
        """
        const [settle, done] = [arguments[0], arguments[arguments.length - 1]];
        const wait = (t) => new Promise((r) => setTimeout(r, t));
        (async () => {
          const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
          // a page without math loads no MathJax: nothing to wait for
          const typeset = [...document.scripts].some((s) => /mathjax/i.test(s.src));
          for (let i = 0; typeset && i < 100 && !ready(); i++) await wait(100);
          if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
          await wait(settle);  // the widget manager renders asynchronously after load
          done();
        })();
        """,
        settle_ms,
    )
