"""The agent console (serving/static/index.html) in a real headless Chromium against a real server.

Needs the `playwright` Python package (dev extra) and Debian's Chromium at /usr/bin/chromium
(`scripts/install-browser.sh`); Playwright never downloads a browser of its own here. The server comes
from the `live_server` fixture (tests/serving/conftest.py): the base URL of a real uvicorn process.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEPARTMENTS = {"IT", "HR", "Finance", "Facilities", "Procurement", "Legal", "CustomerService", "Security"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# URLs that never leave the browser (Chromium's own data: images for form controls, for instance).
HOSTLESS_SCHEMES = {"data", "blob", "about"}
TRIAGE_TIMEOUT_MS = 90_000
READY_TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="the 'playwright' package is not installed: pip install -e '.[dev]'",
    ),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} not found: run scripts/install-browser.sh (Debian's chromium package)",
    ),
]


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """One headless Debian Chromium for the module, driven by Playwright (no Playwright browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class ConsolePage:
    """A fresh page on the console that records every request it makes and every uncaught script error."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page_errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def open(self) -> None:
        """Load the console and wait until it shows the service ready (GET /readyz)."""
        from playwright.sync_api import expect

        self.page.goto(self.base_url + "/", wait_until="load")
        expect(self.page.get_by_test_id("service-status")).to_have_attribute(
            "data-state", "ready", timeout=READY_TIMEOUT_MS
        )

    def triage(self, expected_status: int) -> Any:
        """Click Triage and return the POST /v1/triage response, checking its status."""
        with self.page.expect_response(
            lambda r: urlsplit(r.url).path == "/v1/triage" and r.request.method == "POST",
            timeout=TRIAGE_TIMEOUT_MS,
        ) as info:
            self.page.get_by_test_id("triage").click()
        response = info.value
        assert response.status == expected_status, (
            f"POST /v1/triage answered {response.status}: {response.text()[:500]}"
        )
        return response

    def foreign_requests(self) -> list[str]:
        allowed = LOOPBACK_HOSTS | {urlsplit(self.base_url).hostname}
        foreign = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in HOSTLESS_SCHEMES:
                continue
            if parts.hostname not in allowed:
                foreign.append(url)
        return foreign


@pytest.fixture
def console(chromium_browser: Any, live_server: str) -> Iterator[ConsolePage]:
    page = ConsolePage(chromium_browser, live_server)
    try:
        yield page
    finally:
        page.context.close()


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_console_triages_the_chinese_example(console: ConsolePage, tmp_path: Path) -> None:
    expect = _expect()
    page = console.page
    console.open()

    # Service status from GET /readyz.
    status = page.get_by_test_id("service-status")
    expect(status).to_have_attribute("data-state", "ready", timeout=READY_TIMEOUT_MS)
    expect(page.get_by_test_id("service-state")).to_contain_text("Ready")

    # The Chinese example fills the form with a Chinese ticket.
    page.get_by_test_id("example-zh").click()
    title = page.locator("#title").input_value()
    body = page.locator("#body").input_value()
    assert re.search(r"[\u4e00-\u9fff]", body), f"the Chinese example did not fill the body: {body!r}"

    console.triage(200)
    result = page.get_by_test_id("result")
    expect(result).to_have_attribute("data-state", "done", timeout=TRIAGE_TIMEOUT_MS)
    expect(result).to_be_visible()

    department = page.get_by_test_id("department-value").get_attribute("data-value")
    assert department in DEPARTMENTS, f"department shown is {department!r}, not one of {sorted(DEPARTMENTS)}"
    expect(page.get_by_test_id("department-confidence")).to_contain_text("%")
    expect(page.get_by_test_id("headline")).not_to_be_empty()
    expect(page.get_by_test_id("model-version")).not_to_have_text("—")

    # The duplicate check has finished; the banner shows exactly when open cases repeat the example
    # (the generated demo has open VPN tickets that may; test_console_flags_an_open_case_the_ticket_repeats
    # checks a known one).
    expect(result).to_have_attribute(
        "data-duplicates", re.compile(r"^(none|found)$"), timeout=TRIAGE_TIMEOUT_MS
    )
    banner = page.get_by_test_id("duplicates")
    if result.get_attribute("data-duplicates") == "found":
        expect(banner).to_be_visible()
        expect(banner.get_by_test_id("duplicate").first).to_have_attribute("data-case-id", re.compile(r"\S"))
    else:
        expect(banner).to_be_hidden()

    # Similar solved cases; accepting one is stored as feedback (the page marks it only on a 2xx).
    cases = page.get_by_test_id("similar-case")
    assert cases.count() >= 1, "no similar solved case was rendered"
    first_case = cases.first
    case_id = first_case.get_attribute("data-case-id")
    assert case_id, "a similar case is rendered without its id"
    expect(first_case).to_contain_text(case_id)
    requests_before = len(console.requests)
    first_case.get_by_test_id("accept-solution").click()
    expect(first_case).to_have_attribute("data-accepted", "true", timeout=TRIAGE_TIMEOUT_MS)
    sent = [urlsplit(u).path for u in console.requests[requests_before:] if urlsplit(u).path != "/readyz"]
    assert sent == ["/v1/feedback"], f"accepting a solution sent {sent}"

    # Accepting the department is stored as label feedback too.
    page.get_by_test_id("department-accept").click()
    expect(page.get_by_test_id("department-verdict")).to_have_attribute("data-state", "accepted")

    # At least one extracted field is highlighted, and each highlight is text of the ticket.
    marks = page.locator('[data-testid="highlighted-text"] mark')
    assert marks.count() >= 1, "no extracted field is highlighted in the ticket text"
    spanned = f"{title.strip()}\n{body.strip()}" if title.strip() else body.strip()
    marked = page.eval_on_selector_all(
        '[data-testid="highlighted-text"] mark', "marks => marks.map(m => m.firstChild.textContent)"
    )
    for text in marked:
        assert text and text in spanned, f"highlight {text!r} is not text of the ticket"
    assert page.get_by_test_id("field-row").count() >= len(marked)

    # Back to the top, so the sticky header sits at the top of the full-page screenshot.
    page.evaluate("() => window.scrollTo(0, 0)")
    shot = tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0, "the screenshot is empty"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"

    assert console.page_errors == [], f"script errors on the page: {console.page_errors}"
    assert any(urlsplit(u).path == "/readyz" for u in console.requests), "the page never asked /readyz"
    assert console.foreign_requests() == [], (
        f"the page reached beyond localhost: {console.foreign_requests()}"
    )


def test_console_shows_the_servers_error_next_to_the_body(console: ConsolePage) -> None:
    expect = _expect()
    page = console.page
    console.open()
    page.get_by_test_id("example-en").click()
    page.locator("#body").fill("")

    console.triage(422)
    error = page.get_by_test_id("error-body")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile(r"\bbody\b", re.IGNORECASE))
    expect(page.locator("#body")).to_have_attribute("aria-invalid", "true")
    # Never a blank page: the form and its other values are still there.
    expect(page.get_by_test_id("ticket-form")).to_be_visible()
    assert page.locator("#title").input_value(), "the title was lost after the error"
    expect(page.get_by_test_id("result")).to_be_hidden()

    assert console.page_errors == [], f"script errors on the page: {console.page_errors}"
    assert console.foreign_requests() == [], (
        f"the page reached beyond localhost: {console.foreign_requests()}"
    )


def test_console_renders_ticket_text_as_text_not_markup(console: ConsolePage) -> None:
    expect = _expect()
    page = console.page
    console.open()
    # Short payloads, first in the title and in a sentence of the body, so headline and summary keep them whole.
    payload = "<img src=x onerror=window.__xss=1>"
    page.locator("#title").fill(payload + "打印机卡纸")
    page.locator("#body").fill(f"三楼打印机卡纸 {payload} 无法打印。<b>请帮忙处理</b>，谢谢。")

    console.triage(200)
    expect(page.get_by_test_id("result")).to_have_attribute("data-state", "done", timeout=TRIAGE_TIMEOUT_MS)
    assert page.evaluate("() => window.__xss") is None, "ticket text ran as script"
    assert page.locator("#result img, #result b").count() == 0, "ticket text became elements"
    expect(page.get_by_test_id("highlighted-text")).to_contain_text(payload)
    assert console.page_errors == [], f"script errors on the page: {console.page_errors}"


def test_console_flags_an_open_case_the_ticket_repeats(
    console: ConsolePage, live_headers: dict[str, str]
) -> None:
    import httpx

    expect = _expect()
    page = console.page
    console.open()
    page.get_by_test_id("example-zh").click()
    open_case = {
        "id": "CONSOLE-OPEN-1",
        "title": page.locator("#title").input_value(),
        "body": page.locator("#body").input_value(),
        "status": "open",
    }
    stored = httpx.post(
        f"{console.base_url}/v1/cases", json={"cases": [open_case]}, headers=live_headers, timeout=60
    )
    assert stored.status_code == 201, stored.text
    try:
        console.triage(200)
        result = page.get_by_test_id("result")
        expect(result).to_have_attribute("data-duplicates", "found", timeout=TRIAGE_TIMEOUT_MS)
        banner = page.get_by_test_id("duplicates")
        expect(banner).to_be_visible()
        expect(banner.get_by_test_id("duplicate").first).to_have_attribute("data-case-id", "CONSOLE-OPEN-1")
        expect(banner).to_contain_text("open")
        assert console.page_errors == [], f"script errors on the page: {console.page_errors}"
        assert console.foreign_requests() == []
    finally:
        httpx.delete(f"{console.base_url}/v1/cases/CONSOLE-OPEN-1", headers=live_headers, timeout=60)


def test_console_on_loopback_gets_its_own_key_and_sends_it(console: ConsolePage) -> None:
    expect = _expect()
    page = console.page
    console.open()
    expect(page.get_by_test_id("api-key")).to_have_value(re.compile(r"^tc_"))
    page.get_by_test_id("example-en").click()
    with page.expect_request(lambda r: urlsplit(r.url).path == "/v1/triage") as sent:
        console.triage(200)
    assert sent.value.headers["authorization"].startswith("Bearer tc_")
    assert console.page_errors == []


def test_console_sends_and_the_server_checks_a_typed_key(console: ConsolePage) -> None:
    expect = _expect()
    page = console.page
    console.open()
    page.locator("details.settings summary").click()
    page.get_by_test_id("api-key").fill("tt_abcdefgh_" + "x" * 43)
    page.get_by_test_id("api-key").dispatch_event("change")
    page.get_by_test_id("example-en").click()
    with page.expect_request(lambda r: urlsplit(r.url).path == "/v1/triage") as sent:
        console.triage(401)
    assert sent.value.headers["authorization"] == "Bearer tt_abcdefgh_" + "x" * 43
    expect(page.locator("#form-error")).to_contain_text("Not allowed")
    assert console.page_errors == []
