"""The console in a real browser (Debian's headless chromium, driven by playwright) against a
real ``spotcheck serve`` on 127.0.0.1 with the demo bureau: a chief opens the flagged
deduction, sees the reused photo beside the one it repeats and adjusts it (from the keyboard);
the unit reads it and appeals; a second chief answers; the leaderboard follows.

The run saves screenshots of the key pages into docs/screenshots/ (linked from the README).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.demo_template import demo_copy
from tests.support.server import LiveServer, start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("console")
    _, demo = demo_copy("sqlite", data, postgres_url="", prefix="spotcheck_console")
    server = start_server(data, prepared=demo)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: `make test` installs Debian's chromium (see README)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _session(browser: Browser, live: LiveServer, username: str, viewport: dict[str, int] = LAPTOP) -> Page:
    page = browser.new_context(viewport=viewport, base_url=live.url).new_page()
    page.set_default_timeout(15_000)
    failures: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.failures = failures  # type: ignore[attr-defined]
    page.goto("/console")
    expect(page).to_have_url(f"{live.url}/console/login?next=%2Fconsole")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", live.passwords[username])
    page.click("form.login-form button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(username)
    return page


def _shot(page: Page, name: str, *, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def _loaded(image) -> bool:  # type: ignore[no-untyped-def]
    return bool(image.evaluate("img => img.complete && img.naturalWidth > 0"))


def _humen_total(live: LiveServer) -> float:
    headers = {"Authorization": f"Bearer {live.token('chief')}"}
    board = httpx.get(f"{live.url}/api/v1/leaderboard?period=2026-H2&limit=100", headers=headers, timeout=30).json()
    return next(r["total"] for r in board["items"] if r["unit_code"] == "DG-HUMEN")


def test_review_appeal_and_leaderboard_in_a_real_browser(live: LiveServer, browser: Browser) -> None:
    before = _humen_total(live)
    tablet = _session(browser, live, "chief", TABLET)
    expect(tablet.locator("article.item.flagged").first).to_be_visible()
    _shot(tablet, "08-review-tablet")
    chief = _session(browser, live, "chief")
    _shot(chief, "01-review-queue")

    # The flagged deduction: the reused photo beside the earlier photo it repeats.
    flagged = chief.locator("article.item.flagged", has=chief.locator(".photo-group.reused"))
    expect(flagged).to_have_count(1)
    flagged.locator("h2 a").click()
    expect(chief).to_have_url(re.compile(r"/console/review/[0-9a-f-]{36}$"))
    group = chief.locator(".photo-group.reused")
    expect(group.locator("figure.photo .chip")).to_contain_text(["照片重复使用（文件完全相同）", "拍摄地点远离被检查单位"])
    expect(group.locator(".earlier")).to_contain_text("东莞市厚街镇")
    assert _loaded(group.locator("figure.photo img")) and _loaded(group.locator(".earlier img"))
    _shot(chief, "02-flagged-deduction", full=True)

    # Adjust it from the keyboard: j (this deduction), a (adjust: focus the points), the reason, Enter.
    chief.keyboard.press("j")
    chief.keyboard.press("a")
    expect(chief.locator("input[name=points]")).to_be_focused()
    # Chosen from the keyboard, the action makes its fields required, as a click does.
    assert chief.locator("input[name=points]").evaluate("e => e.required")
    assert chief.locator("input[name=reason]").evaluate("e => e.required")
    chief.keyboard.type("0.5")
    chief.fill("input[name=reason]", "照片系另一次检查所拍，酌情减半")
    chief.locator("input[name=reason]").press("Enter")
    expect(chief.locator(".flash.ok")).to_have_text("已调整扣分。")
    expect(chief.locator("article.item.flagged .photo-group.reused")).to_have_count(0)

    # The unit reads it with its basis and photos, and appeals.
    unit = _session(browser, live, "unit-humen")
    card = unit.locator("article.item", has_text="照片系另一次检查所拍，酌情减半")
    expect(card.locator("[data-points]")).to_have_text("0.5")
    expect(card.locator("figure.photo img")).to_have_count(2)
    assert all(_loaded(img) for img in card.locator("figure.photo img").all())
    _shot(unit, "03-unit-deductions", full=True)
    card.locator("textarea[name=text]").fill("该店已于检查前整改，附分局巡查照片为证。")
    card.locator("input[name=evidence_ids]").first.check()
    card.locator("button[type=submit]").click()
    expect(unit.locator(".flash.ok")).to_have_text("复议申请已提交。")
    expect(unit.locator("[data-appeal-status]")).to_contain_text("待答复")

    # The chief who decided may not answer it; the second chief does (partially overturned).
    chief2 = _session(browser, live, "chief2")
    chief2.goto("/console/appeals")
    appeal = chief2.locator("[data-appeal]", has_text="该店已于检查前整改")
    _shot(chief2, "04-appeals", full=True)
    appeal.locator("input[value=partial]").check()
    appeal.locator("input[name=points]").fill("0.25")
    appeal.locator("input[name=reason]").fill("整改属实，但巡查记录有误，改扣 0.25 分")
    appeal.locator("button[type=submit]").click()
    expect(chief2.locator(".flash.ok")).to_have_text("已答复复议。")

    # The leaderboard reflects it: the confirmed basis counts the 0.25 points now standing.
    chief2.goto("/console/leaderboard")
    row = chief2.locator("tr[data-unit=DG-HUMEN]")
    assert float(row.locator("[data-total]").get_attribute("data-total")) == pytest.approx(before - 0.25)
    assert _humen_total(live) == pytest.approx(before - 0.25)
    _shot(chief2, "05-leaderboard")
    row.locator("a").click()
    expect(chief2.locator("svg.chart rect.max")).to_have_count(6)
    _shot(chief2, "06-unit-score", full=True)
    chief2.goto("/console/plans")
    chief2.locator("table.grid a").first.click()
    expect(chief2.locator("table.tasks tbody tr")).to_have_count(19)
    _shot(chief2, "07-draw")
    chief2.click("a.lang")
    expect(chief2.locator("h2").first).to_have_text("The draw")
    chief2.goto("/console/units/DG-HUMEN")  # the language stays chosen (a cookie)
    expect(chief2.locator("h1")).to_contain_text("the score explained")
    for page in (chief, unit, chief2, tablet):
        assert page.failures == [], page.failures  # type: ignore[attr-defined]
