"""The dashboard, the model page and the console in a real headless Chromium against a real server.

Each page in English and Chinese at desktop and phone widths, with axe-core (vendored from npm under
tests/serving/vendor/, injected into the page) finding no serious or critical WCAG 2 A/AA violation;
screenshots go to ``$TEST_OUTPUT_DIR/screenshots`` (default ``var/test-output/screenshots``) for a
person to look at. Then the console end to end: triage, correct the department to a label outside the
top 3, mark a case not helpful, and find both on the dashboard. Needs scripts/install-browser.sh
(Chromium and a Chinese font).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.serving.test_console_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOOPBACK_HOSTS,
    READY_TIMEOUT_MS,
    TRIAGE_TIMEOUT_MS,
    pytestmark,  # noqa: F401  (same skips: playwright installed, Chromium present)
)

REPO = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LOCALES = {"en": "en-US", "zh": "zh-CN"}
CATALOGUE = REPO / "serving" / "static" / "i18n"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    out = Path(os.environ.get("TEST_OUTPUT_DIR", REPO / "var" / "test-output")) / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


class Tab:
    """A page in its own context (language, viewport) that records requests and script errors."""

    def __init__(self, browser: Any, base_url: str, lang: str, viewport: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.context = browser.new_context(
            viewport=VIEWPORTS[viewport],
            locale=LOCALES[lang],
            service_workers="block",
            is_mobile=viewport == "phone",
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def foreign(self) -> list[str]:
        allowed = LOOPBACK_HOSTS | {urlsplit(self.base_url).hostname}
        return [
            u
            for u in self.requests
            if urlsplit(u).scheme not in {"data", "blob", "about"} and urlsplit(u).hostname not in allowed
        ]

    def axe(self) -> list[str]:
        """Serious and critical WCAG 2 A/AA violations axe-core finds on the page as it is now."""
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
        )
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]


@pytest.fixture
def tabs(browser: Any, live_server: str) -> Iterator[list[Tab]]:
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        tab.context.close()


def _open(tabs: list[Tab], browser: Any, base: str, path: str, lang: str, viewport: str) -> Tab:
    tab = Tab(browser, base, lang, viewport)
    tabs.append(tab)
    tab.page.goto(tab.base_url + path, wait_until="load")
    tab.page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT_MS)
    return tab


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", ["/", "/dashboard", "/models"])
def test_page_speaks_the_browsers_language_and_passes_axe(
    browser: Any, live_server: str, tabs: list[Tab], screenshots: Path, path: str, lang: str, viewport: str
) -> None:
    from playwright.sync_api import expect

    messages = json.loads((CATALOGUE / f"{lang}.json").read_text(encoding="utf-8"))
    tab = _open(tabs, browser, live_server, path, lang, viewport)
    page = tab.page
    title_key = {"/": "console.title", "/dashboard": "dashboard.title", "/models": "models.title"}[path]
    expect(page.locator("h1")).to_have_text(messages[title_key])
    assert page.evaluate("document.documentElement.lang").startswith(lang)
    assert page.title() == messages[title_key]
    # Every element with a message key shows that language's text (no key left untranslated).
    shown = page.eval_on_selector_all("[data-i18n]", "els => els.map(e => [e.dataset.i18n, e.textContent])")
    assert shown and all(text == messages[key] for key, text in shown), [
        s for s in shown if s[1] != messages[s[0]]
    ][:5]
    violations = tab.axe()
    name = path.strip("/") or "console"
    page.screenshot(path=str(screenshots / f"{name}-{lang}-{viewport}.png"), full_page=True)
    assert not violations, violations
    assert tab.errors == [] and tab.foreign() == [], (tab.errors, tab.foreign())


def test_language_switch_is_remembered(browser: Any, live_server: str, tabs: list[Tab]) -> None:
    from playwright.sync_api import expect

    zh = json.loads((CATALOGUE / "zh.json").read_text(encoding="utf-8"))
    tab = _open(tabs, browser, live_server, "/", "en", "desktop")
    tab.page.select_option("#lang", "zh")
    expect(tab.page.locator("h1")).to_have_text(zh["console.title"])
    expect(tab.page.get_by_test_id("triage")).to_have_text(zh["console.triage"])
    for path, key in (("/dashboard", "dashboard.title"), ("/models", "models.title"), ("/", "console.title")):
        tab.page.goto(tab.base_url + path)
        tab.page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT_MS)
        expect(tab.page.locator("h1")).to_have_text(zh[key])
        assert tab.page.locator("#lang").input_value() == "zh"
    tab.page.select_option("#lang", "en")
    expect(tab.page.locator("h1")).to_have_text("Ticket triage console")
    tab.page.reload()
    tab.page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT_MS)
    expect(tab.page.get_by_test_id("triage")).to_have_text("Triage")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_console_result_speaks_the_chosen_language_and_passes_axe(
    browser: Any,
    live_server: str,
    live_headers: dict[str, str],
    tabs: list[Tab],
    screenshots: Path,
    lang: str,
    viewport: str,
) -> None:
    """Triage the Chinese example (which repeats an open case stored here): every label and the server's
    reasons in the page's language, axe clean on the result; then the dashboard lists the open duplicate."""
    from playwright.sync_api import expect

    messages = json.loads((CATALOGUE / f"{lang}.json").read_text(encoding="utf-8"))
    tab = _open(tabs, browser, live_server, "/", lang, viewport)
    page = tab.page
    page.get_by_test_id("example-zh").click()
    case_id = f"I15-OPEN-{lang}-{viewport}"
    open_case = {
        "id": case_id,
        "title": page.locator("#title").input_value(),
        "body": page.locator("#body").input_value(),
        "status": "open",
        "department": "IT",
    }
    stored = httpx.post(
        f"{live_server}/v1/cases", json={"cases": [open_case]}, headers=live_headers, timeout=60
    )
    assert stored.status_code == 201, stored.text
    try:
        with page.expect_response(
            lambda r: urlsplit(r.url).path == "/v1/triage", timeout=TRIAGE_TIMEOUT_MS
        ) as info:
            page.get_by_test_id("triage").click()
        answer = info.value.json()
        result = page.get_by_test_id("result")
        expect(result).to_have_attribute("data-duplicates", "found", timeout=TRIAGE_TIMEOUT_MS)
        expect(page.get_by_test_id("duplicates")).to_contain_text(case_id)
        reason = page.get_by_test_id("department-reason").inner_text()
        department = answer["department"]
        assert department["reasons"], "the server sent no structured reasons"
        head = messages["head.department"]
        shown_label = messages.get(f"label.department.{department['value']}", department["value"])
        assert head in reason and shown_label in reason, reason
        if lang == "zh":
            assert "置信度" in reason or "需人工确认" in reason, reason
            assert department["reason"] not in reason and "confidence" not in reason, reason
        else:
            assert "confidence" in reason, reason
        expect(page.get_by_test_id("department-card").locator("h3")).to_have_text(head)
        expect(page.get_by_test_id("similar")).to_contain_text(messages["console.similar"])
        violations = tab.axe()
        page.screenshot(path=str(screenshots / f"console-result-{lang}-{viewport}.png"), full_page=True)
        assert not violations, violations

        board = _open(tabs, browser, live_server, "/dashboard", lang, viewport)
        figure = board.page.locator("#duplicates")
        expect(figure.locator("h2")).to_have_text(messages["duplicates.title"])
        expect(figure.locator(".table-wrap")).to_contain_text(case_id)
        expect(figure.locator(".table-wrap")).to_contain_text(messages["label.status.open"])
        assert tab.errors == [] and board.errors == [], (tab.errors, board.errors)
        assert tab.foreign() == [] and board.foreign() == []
    finally:
        httpx.delete(f"{live_server}/v1/cases/{case_id}", headers=live_headers, timeout=60)


def test_dashboard_keeps_within_the_services_bound_and_retries_a_shed_panel(
    browser: Any, live_server: str, tabs: list[Tab]
) -> None:
    """A dozen panels load through at most 3 requests at once (the server sheds beyond 4 in flight on
    2 cores), and a panel the service refused with 503 + Retry-After loads on the retry."""
    from playwright.sync_api import expect

    tab = Tab(browser, live_server, "en", "desktop")
    tabs.append(tab)
    page = tab.page
    # Count the page's own API requests in flight, in the page (wrapping fetch before any script runs).
    page.add_init_script(
        """(() => {
          const real = window.fetch.bind(window);
          window.__api = { open: 0, most: 0 };
          window.fetch = async (input, init) => {
            const api = String(input).includes("/v1/");
            if (api) { window.__api.open += 1; window.__api.most = Math.max(window.__api.most, window.__api.open); }
            try { return await real(input, init); } finally { if (api) window.__api.open -= 1; }
          };
        })();"""
    )
    shed: list[str] = []

    def refuse_once(route: Any) -> None:
        if shed:
            route.continue_()
            return
        shed.append(route.request.url)
        route.fulfill(
            status=503,
            headers={"Retry-After": "1", "Content-Type": "application/problem+json"},
            body=json.dumps({"title": "Service Unavailable", "status": 503, "detail": "at its bound"}),
        )

    page.route("**/v1/stats/suggestions*", refuse_once)
    page.goto(tab.base_url + "/dashboard", wait_until="load")
    page.wait_for_selector("body[data-ready=true]", timeout=READY_TIMEOUT_MS)
    expect(page.locator("#suggestions [role=alert]")).to_be_hidden(timeout=READY_TIMEOUT_MS)
    expect(page.locator("#suggestions canvas")).to_be_visible()
    assert len(shed) == 1
    most = page.evaluate("window.__api.most")
    assert 1 <= most <= 3, most


def test_dashboard_keyboard_only_reaches_filters_and_exports(
    browser: Any, live_server: str, tabs: list[Tab]
) -> None:
    tab = _open(tabs, browser, live_server, "/dashboard", "en", "desktop")
    page = tab.page
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "() => document.activeElement.id || document.activeElement.className || document.activeElement.tagName"
            )
        )
    for target in ("tenant", "range", "volume-by", "csv"):
        assert target in reached, f"Tab never reaches {target}: {reached}"


def test_console_keyboard_only_switches_language_triages_and_accepts(
    browser: Any, live_server: str, tabs: list[Tab]
) -> None:
    from playwright.sync_api import expect

    zh = json.loads((CATALOGUE / "zh.json").read_text(encoding="utf-8"))
    tab = _open(tabs, browser, live_server, "/", "en", "desktop")
    page = tab.page

    def focused() -> str:
        return str(
            page.evaluate(
                "() => { const e = document.activeElement; return e.dataset.testid || e.id || e.tagName; }"
            )
        )

    def tab_to(target: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if focused() == target:
                return
        raise AssertionError(f"Tab never reaches {target}")

    tab_to("lang")
    page.keyboard.press("ArrowDown")  # a focused <select> changes with the arrow keys
    expect(page.locator("h1")).to_have_text(zh["console.title"])
    tab_to("example-en")
    page.keyboard.press("Enter")
    assert focused() == "body"
    with page.expect_response(lambda r: urlsplit(r.url).path == "/v1/triage", timeout=TRIAGE_TIMEOUT_MS):
        page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("result")).to_have_attribute("data-state", "done", timeout=TRIAGE_TIMEOUT_MS)
    assert focused() == "result", "the result does not take the focus"
    tab_to("department-accept")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("department-verdict")).to_have_attribute("data-state", "accepted")
    expect(page.get_by_test_id("department-verdict")).to_have_text(zh["console.acceptedLabel"])
    assert tab.errors == [], tab.errors


def test_console_end_to_end_correction_and_not_helpful_show_on_the_dashboard(
    browser: Any, live_server: str, live_headers: dict[str, str], tabs: list[Tab], screenshots: Path
) -> None:
    from playwright.sync_api import expect

    console = _open_console(tabs, browser, live_server)
    page = console.page
    page.get_by_test_id("example-en").click()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/v1/triage", timeout=TRIAGE_TIMEOUT_MS):
        page.get_by_test_id("triage").click()
    expect(page.get_by_test_id("result")).to_have_attribute("data-state", "done", timeout=TRIAGE_TIMEOUT_MS)
    # On a phone the result scrolls into view.
    assert page.evaluate("() => document.getElementById('result').getBoundingClientRect().top") < 844
    predicted = page.get_by_test_id("department-value").get_attribute("data-value")
    top3 = page.eval_on_selector_all(
        "[data-testid=department-card] .alt-value", "els => els.map(e => e.dataset.value)"
    )
    labels = httpx.get(f"{live_server}/v1/labels", headers=live_headers, timeout=60).json()["labels"][
        "department"
    ]
    outside = next(label for label in labels if label not in top3 and label != predicted)
    en = json.loads((CATALOGUE / "en.json").read_text(encoding="utf-8"))

    def shown(label: str) -> str:
        return str(en.get(f"label.department.{label}", label))

    box = page.get_by_test_id("department-correct")
    box.fill(outside[:3])
    options = page.eval_on_selector_all("#labels-department option", "os => os.map(o => o.value)")
    assert outside in options and len(options) == len(labels) - 1
    box.fill(outside)
    page.get_by_test_id("department-correct-submit").click()
    expect(page.get_by_test_id("department-verdict")).to_have_attribute("data-state", "corrected")
    case = page.get_by_test_id("similar-case").first
    case_id = case.get_attribute("data-case-id")
    case.get_by_test_id("not-helpful").click()
    expect(case.get_by_test_id("not-helpful")).to_have_attribute("aria-pressed", "true")
    page.screenshot(path=str(screenshots / "console-en-phone-after-feedback.png"), full_page=True)
    violations = console.axe()
    assert not violations, violations

    board = _open(tabs, browser, live_server, "/dashboard", "en", "desktop")
    handoffs = board.page.locator("#handoffs .table-wrap")
    expect(handoffs).to_contain_text(shown(outside))
    expect(board.page.locator("#suggestions")).to_contain_text(str(case_id))
    board.page.get_by_role(
        "button", name=f"from {shown(predicted)} to {shown(outside)}", exact=False
    ).first.click()
    expect(board.page.locator("#cell-dialog")).to_contain_text("console-")
    board.page.screenshot(path=str(screenshots / "dashboard-after-console.png"), full_page=True)
    assert console.errors == [] and board.errors == [], (console.errors, board.errors)
    assert console.foreign() == [] and board.foreign() == []


def _open_console(tabs: list[Tab], browser: Any, base: str) -> Tab:
    from playwright.sync_api import expect

    tab = Tab(browser, base, "en", "phone")
    tabs.append(tab)
    tab.page.goto(tab.base_url + "/", wait_until="load")
    expect(tab.page.get_by_test_id("service-status")).to_have_attribute(
        "data-state", "ready", timeout=READY_TIMEOUT_MS
    )
    return tab
