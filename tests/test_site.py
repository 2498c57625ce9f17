"""The built site in a real browser, offline: math typeset, images loaded, widgets rendered.

Runs after `jupyter-book build` (``make test`` does both). Chromium (Debian's ``chromium`` and
``chromium-driver``) loads pages from a local server with every host name but 127.0.0.1 resolved
to nothing, so anything fetched from a CDN would fail, and the test also fails if any resource
came from elsewhere. Screenshots go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
DEMO = "chapters/00_getting_started/getting_started.html"

pytestmark = pytest.mark.site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built site at {HTML}: run `make book` (or `make test`) first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail(
            "Chromium and chromedriver are needed: apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,2400",
        # offline: no host resolves except the local server
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def load(browser, url: str) -> None:
    """Open ``url`` and wait until MathJax has typeset the page and widgets had time to render."""
    browser.get(url)
    browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const wait = (t) => new Promise((r) => setTimeout(r, t));
        (async () => {
          const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
          for (let i = 0; i < 100 && !ready(); i++) await wait(100);
          if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
          await wait(1500);  // the widget manager renders asynchronously after load
          done();
        })();
        """
    )


def external_requests(browser, origin: str) -> list[str]:
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    return [u for u in urls if not u.startswith(origin) and not u.startswith("data:")]


def test_demo_page_offline(server, browser):
    load(browser, f"{server}/{DEMO}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(1280, min(height, 16_000))
    browser.save_screenshot(str(SHOTS / "getting_started.png"))
    browser.set_window_size(1280, 2400)
    state = browser.execute_script(
        """
        const main = document.querySelector('main') || document.body;
        const sol = document.querySelector('.solution.dropdown, .dropdown.solution');
        const imgs = [...main.querySelectorAll('img')];
        return {
          typeset: main.querySelectorAll('mjx-container').length,
          mathErrors: main.querySelectorAll('mjx-merror').length,
          rawTex: main.innerText.includes('\\\\(') || main.innerText.includes('\\\\['),
          images: imgs.length,
          brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
          sliders: main.querySelectorAll('.widget-slider, .jupyter-widgets .slider').length,
          widgetViews: main.querySelectorAll('.jupyter-widgets').length,
          solution: sol ? {hidden: sol.classList.contains('toggle-hidden') ||
              [...sol.children].slice(1).every(c => c.offsetParent === null)} : null,
        };
        """
    )
    assert state["typeset"] > 5, f"MathJax typeset only {state['typeset']} formulas"
    assert not state["rawTex"], "raw TeX delimiters are visible: MathJax did not run"
    assert state["mathErrors"] == 0, "MathJax reported errors (an undefined macro?)"
    assert state["images"] >= 3 and not state["brokenImages"], state
    assert state["widgetViews"] >= 1 and state["sliders"] >= 1, f"widgets not rendered: {state}"
    assert state["solution"] is not None, "no solution dropdown found on the demo page"
    assert state["solution"]["hidden"], "the exercise's solution is not collapsed"
    assert external_requests(browser, server) == []


PAGES = [
    "index.html",
    "book/notation.html",
    "book/bibliography.html",
    "book/results.html",
    "chapters/01_two_stream/two_stream.html",
    "chapters/02_tsn/tsn.html",
    "chapters/03_temporal_modelling/temporal_modelling.html",
    "chapters/04_motion_features/motion_features.html",
    "chapters/05_3d_vs_2d/3d_vs_2d.html",
    "chapters/06_online_detection/online_detection.html",
    "chapters/07_autoregressive/autoregressive.html",
    "chapters/08_actor_critic/actor_critic.html",
    "chapters/09_ddpg/ddpg.html",
    "chapters/10_trpo/trpo.html",
    "chapters/11_llm_reasoning/llm_reasoning.html",
]


@pytest.mark.parametrize("page", PAGES)
def test_pages_typeset_offline(server, browser, page):
    load(browser, f"{server}/{page}")
    errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length;")
    raw = browser.execute_script(
        "return (document.querySelector('main') || document.body).innerText.includes('\\\\(');"
    )
    assert errors == 0 and not raw, f"{page}: math not typeset cleanly"
    assert external_requests(browser, server) == []
