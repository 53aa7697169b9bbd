"""The built documentation site, served on 127.0.0.1 and read by headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` packages and the ``selenium`` Python
package (the ``docs`` extra).  Outside CI the test is skipped when they are missing;
under ``CI=true`` their absence is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docs.conftest import REPO_ROOT

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the docs extra is not installed: the fixture skips or fails
    webdriver = None

CHROMIUM = os.environ.get("BMDX_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("BMDX_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIREMENT = "BMDX-FMT-001"


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() or shutil.which(path)):
            return f"{path} not found: install the Debian package {package!r}"
    if webdriver is None:
        return "selenium is not installed: pip install -e '.[docs]'"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the documentation browser test cannot run under CI: {reason}")
        pytest.skip(reason)

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def served(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def _artifact_dir() -> Path:
    configured = os.environ.get("BMDX_ARTIFACT_DIR")
    path = Path(configured) if configured else REPO_ROOT / "site" / "_artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _h1(driver: Any) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, "article h1").text).replace("¶", "").strip()


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/", "BMDX"),
        ("/requirements/", "Requirements"),
        ("/objects/participant/", "Participant"),
        ("/vendor-guide/", "Vendor guide"),
        ("/conventions/consent/", "Consent evaluation"),
        ("/anomaly/", "Anomaly rules"),
        ("/conformance/claim/", "Claim"),
        ("/conformance/adapter/", "The BMDX adapter protocol (version 1)"),
        ("/conformance/kill-matrix/", "Kill matrix"),
        ("/cli/", "Command line"),
        ("/benchmarks/", "Benchmarks"),
        ("/decisions/", "Design decisions and departures"),
    ],
)
def test_page_renders_its_main_heading(browser: Any, served: str, path: str, heading: str) -> None:
    browser.get(served + path)
    assert _h1(browser) == heading
    assert "404" not in browser.title


def test_requirement_anchor_is_on_the_requirements_page(browser: Any, served: str) -> None:
    browser.get(f"{served}/requirements/#{REQUIREMENT}")
    target = browser.find_element(By.ID, REQUIREMENT)
    assert target.tag_name == "h3"
    assert target.text.replace("¶", "").strip() == REQUIREMENT


def test_search_finds_a_requirement_by_id(browser: Any, served: str) -> None:
    browser.get(served + "/")
    box = browser.find_element(By.CSS_SELECTOR, "input.md-search__input")
    box.click()
    box.send_keys(REQUIREMENT)

    def hit(driver: Any) -> tuple[str, str] | None:
        for link in driver.find_elements(By.CSS_SELECTOR, ".md-search-result a"):
            href = link.get_attribute("href") or ""
            url = urllib.parse.urlsplit(href)
            if url.path == "/requirements/" and url.fragment == REQUIREMENT:
                return href, str(link.text)
        return None

    # The result list re-renders while the index answers; a vanished element is retried.
    href, text = WebDriverWait(
        browser, 30, ignored_exceptions=(StaleElementReferenceException,)
    ).until(hit)
    assert REQUIREMENT in text
    browser.save_screenshot(str(_artifact_dir() / "docs-search.png"))
    browser.get(href)
    assert browser.find_element(By.ID, REQUIREMENT).is_displayed()


def test_vendor_guide_shows_the_checked_example_files(browser: Any, served: str) -> None:
    browser.get(served + "/vendor-guide/")
    blocks = [str(e.text) for e in browser.find_elements(By.CSS_SELECTOR, "article pre")]
    claim = (REPO_ROOT / "docs" / "examples" / "claim.json").read_text(encoding="utf-8")
    assert any('"claimVersion": 1' in b for b in blocks)
    assert any(claim.splitlines()[1].strip() in b for b in blocks)
    assert any("[[participants]]" in b for b in blocks)
    assert any('"cmd": "canonicalize"' in b for b in blocks)


def test_committee_guide_shows_tool_output_captured_at_build_time(
    browser: Any, served: str
) -> None:
    browser.get(served + "/committee-guide/")
    text = str(browser.find_element(By.CSS_SELECTOR, "article").text)
    assert "$ bmdx spec lint" in text
    assert "spec lint clean" in text or "error" in text
    assert "reworded (pinned tests need review)" in text
    assert "inserted here when the site is built" not in text
