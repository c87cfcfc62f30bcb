"""The Mini App page (serving/api/static) in a real browser: headless Chromium through Playwright, against the real
server (`uvicorn serving.api:app` in its own process) on the session's demo snapshot. What the owner sees must be
what the API answers for the same initData, in the Telegram client's theme.

Chromium comes from the system (`make install` installs it); Playwright never downloads a browser here.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import httpx
import pytest

from serving.api.auth import sign_init_data
from tests.servers import running
from tests.serving.signing import BOT_TOKEN

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".test-artifacts"
API = "/api/v1"
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Telegram's night theme, so a page that ignores the theme (white default) cannot pass.
DARK = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499", "link_color": "#6ab3f3",
        "button_color": "#5288c1", "button_text_color": "#ffffff", "secondary_bg_color": "#232e3c"}
CARDS = {"subscribers": "subscribers", "growth": "growth", "growth-pct": "growth_pct",
         "avg-post-reach": "avg_post_reach", "err": "err", "err24": "err24", "er": "er"}
READY = 'body[data-ready="1"]'
UNAUTHORIZED = "Open this page from the bot in Telegram"
TIMEOUT_MS = 15_000


# -- the server, the browser, the owner ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_warehouse, tmp_path_factory) -> Iterator[str]:
    """`uvicorn serving.api:app` on a free loopback port over the demo snapshot; its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("ANALYTICBOT_APP_DB_URL", "ANALYTICBOT_WAREHOUSE_URL")}
    env.update(ANALYTICBOT_DATA_DIR=str(demo_warehouse.settings.data_dir), BOT_TOKEN=BOT_TOKEN)
    log_path = tmp_path_factory.mktemp("miniapp_server") / "uvicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "serving.api:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    with running(proc, log_path, f"{base}{API}/health", lambda r: r.status_code == 200, "API server"):
        yield base


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: `make install` installs it (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: `make install` installs the dev dependencies")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh phone-sized tab (Telegram's webview is about 390 px wide); a JavaScript error fails the test."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.set_default_timeout(TIMEOUT_MS)
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def owner(owners) -> tuple[int, list[int]]:
    """The owner with the most channels (the picker needs two), and those channels."""
    user = max(owners, key=lambda u: (len(owners[u]), u))
    assert len(owners[user]) >= 2, "the demo should have an owner with two channels"
    return user, owners[user]


class Api:
    """The API as the page calls it, with the same initData."""

    def __init__(self, base: str, init_data: str):
        self.base, self.headers = base, {"Authorization": "tma " + init_data}

    def get(self, path: str) -> dict:
        response = httpx.get(f"{self.base}{API}{path}", headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def page_url(base: str, init_data: str, theme: dict = DARK) -> str:
    # How a Telegram client opens a Mini App: everything in the fragment, each value URL-encoded.
    return (f"{base}/app/#tgWebAppData={quote(init_data, safe='')}"
            f"&tgWebAppThemeParams={quote(json.dumps(theme), safe='')}&tgWebAppVersion=7.10&tgWebAppPlatform=ios")


def open_page(page, url: str):
    page.goto(url)
    page.wait_for_selector(READY, state="attached")
    return page


# -- reading the page ----------------------------------------------------------------------------------------------
def cards(page) -> dict[str, tuple[str | None, str]]:
    return {name: (page.get_attribute(f'[data-testid="card-{name}"]', "data-value"),
                   page.inner_text(f'[data-testid="card-{name}"]')) for name in CARDS}


def post_rows(page) -> list[dict]:
    return page.eval_on_selector_all('[data-testid="posts-table"] tbody tr[data-message-id]', """rows => rows.map(r => ({
        message_id: Number(r.dataset.messageId), views_24h: r.getAttribute("data-views-24h"),
        text: Array.from(r.cells, c => c.innerText)}))""")


def lift_text(ratio: float) -> str:
    """+51% for 1.51, as the page rounds (half up, like Math.round)."""
    pct = math.floor((ratio - 1) * 100 + 0.5)
    return ("+" if pct > 0 else "−" if pct < 0 else "") + f"{abs(pct)}%"


def assert_cards_match(page, overview: dict) -> None:
    shown = cards(page)
    for name, key in CARDS.items():
        value, text = shown[name]
        if overview[key] is None:
            assert (value, text) == ("", "—"), f"{name}: null must show as a dash"
        else:
            assert float(value) == pytest.approx(overview[key], rel=1e-12), name
            assert text not in ("", "—", "0"), name
    if overview["subscribers"] is not None:
        assert shown["subscribers"][1] == f"{overview['subscribers']:,}"


def rgb(hex_colour: str) -> str:
    n = int(hex_colour.lstrip("#"), 16)
    return f"rgb({n >> 16}, {(n >> 8) & 255}, {n & 255})"


# -- tests ---------------------------------------------------------------------------------------------------------
def test_the_owner_sees_the_apis_numbers_in_the_telegram_theme(page, server, owner, tmp_path):
    user, channel_ids = owner
    init_data = sign_init_data(BOT_TOKEN, user)
    api = Api(server, init_data)
    open_page(page, page_url(server, init_data))

    # the picker: exactly the owner's channels, in the API's order, one of them drawn
    mine = api.get("/me/channels")["channels"]
    options = page.eval_on_selector_all('[data-testid="channel-picker"] option',
                                        "os => os.map(o => [Number(o.value), o.textContent])")
    assert options == [[c["channel_id"], c["title"]] for c in mine]
    assert sorted(o[0] for o in options) == sorted(channel_ids)
    channel_id = int(page.get_attribute("body", "data-channel-id"))
    assert page.input_value('[data-testid="channel-picker"]') == str(channel_id)

    assert_cards_match(page, api.get(f"/channels/{channel_id}/overview?days=30"))

    posts = api.get(f"/channels/{channel_id}/posts?sort=views_24h&order=desc&limit=20")["items"]
    rows = post_rows(page)
    assert [r["message_id"] for r in rows] == [p["message_id"] for p in posts]
    for row, post in zip(rows, posts):
        assert float(row["views_24h"]) == pytest.approx(post["views_24h"], rel=1e-12)
        assert row["text"][3] == f"{round(post['views_24h']):,}"

    heatmap = api.get(f"/channels/{channel_id}/heatmap")
    drawn = page.eval_on_selector_all('[data-testid="heatmap"] [data-weekday][data-hour]', """cells => cells.map(c =>
        [Number(c.dataset.weekday), Number(c.dataset.hour), c.dataset.value === "" ? null : Number(c.dataset.value)])""")
    assert len(drawn) == 168
    assert sorted(map(tuple, drawn)) == sorted((c["weekday"], c["hour"], c["mean_views_24h_per_subscriber"])
                                               for c in heatmap["cells"])
    labels = page.eval_on_selector_all('[data-testid="heatmap"] .day', "ds => ds.map(d => d.textContent)")
    assert labels == WEEKDAYS and heatmap["time_zone"] in page.inner_text('[data-testid="heatmap-legend"]')

    best = api.get(f"/channels/{channel_id}/best-times")
    assert best["status"] == "available", "the demo's best-time model should have run"
    items = page.query_selector_all('[data-testid="best-times"] [data-testid="best-time"]')
    top = best["slots"][:3]
    assert [(int(i.get_attribute("data-weekday")), int(i.get_attribute("data-hour"))) for i in items] == \
        [(s["weekday"], s["hour"]) for s in top]
    for item, slot in zip(items, top):
        assert item.inner_text().startswith(f"{WEEKDAYS[slot['weekday']]} {slot['hour']:02d}:00")
        assert lift_text(slot["expected_relative_reach"]) in item.inner_text()

    forecast = api.get(f"/channels/{channel_id}/forecast")
    subscribers = next(s for s in forecast["series"] if s["metric"] == "subscribers")
    chart = page.locator('[data-testid="growth-chart"]')
    assert chart.get_attribute("data-forecast") == str(len(subscribers["points"]))
    assert chart.locator("svg path.line").count() >= 1

    # the theme: the page background is the client's, not the light default
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == rgb(DARK["bg_color"])
    assert page.evaluate("getComputedStyle(document.body).color") == rgb(DARK["text_color"])

    ARTIFACTS.mkdir(exist_ok=True)
    for path in (ARTIFACTS / "miniapp.png", tmp_path / "miniapp.png"):
        page.screenshot(path=str(path), full_page=True)


def test_picking_another_channel_redraws_it_and_load_more_appends_the_next_page(page, server, owner):
    user, channel_ids = owner
    init_data = sign_init_data(BOT_TOKEN, user)
    api = Api(server, init_data)
    open_page(page, page_url(server, init_data))
    first = int(page.get_attribute("body", "data-channel-id"))
    other = next(c for c in channel_ids if c != first)

    page.select_option('[data-testid="channel-picker"]', str(other))
    page.wait_for_selector(f'body[data-ready="1"][data-channel-id="{other}"]', state="attached")
    overview = api.get(f"/channels/{other}/overview?days=30")
    assert_cards_match(page, overview)
    assert overview["subscribers"] != api.get(f"/channels/{first}/overview?days=30")["subscribers"]
    first_page = api.get(f"/channels/{other}/posts?sort=views_24h&order=desc&limit=20")
    assert [r["message_id"] for r in post_rows(page)] == [p["message_id"] for p in first_page["items"]]

    assert first_page["next_cursor"], "the demo channel should have more than one page of posts"
    second = api.get(f"/channels/{other}/posts?sort=views_24h&order=desc&limit=20&cursor={first_page['next_cursor']}")
    page.click('[data-testid="posts-more"]')
    page.wait_for_function("n => document.querySelectorAll('[data-testid=posts-table] tbody tr[data-message-id]')"
                           ".length >= n", arg=len(first_page["items"]) + len(second["items"]))
    assert [r["message_id"] for r in post_rows(page)] == \
        [p["message_id"] for p in first_page["items"] + second["items"]]


def test_a_forged_init_data_shows_the_open_from_telegram_message_and_no_numbers(page, server, owner):
    user, _ = owner
    open_page(page, page_url(server, sign_init_data("987654:another-bot", user)))
    message = page.locator('[data-testid="message"]')
    assert message.is_visible() and UNAUTHORIZED in message.inner_text()
    assert not page.locator('[data-testid="dashboard"]').is_visible()
    assert all(value is None for value, _ in cards(page).values())
    assert not re.search(r"\d", page.inner_text("body")), "an unauthorized page must show no numbers"


def test_outside_telegram_the_page_asks_to_be_opened_from_the_bot(page, server):
    open_page(page, f"{server}/app/")
    assert UNAUTHORIZED in page.inner_text('[data-testid="message"]')
    # no theme given: the light defaults
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"


@pytest.mark.parametrize("route, status, body, title", [
    ("**/api/v1/me/channels", 503, {"error": "unavailable", "detail": "no snapshot has been published yet"},
     "No data yet"),
    ("**/api/v1/channels/*/overview*", 404, {"error": "not_found", "detail": "channel not found"},
     "Channel not found"),
])
def test_api_errors_show_a_message_instead_of_the_dashboard(page, server, owner, route, status, body, title):
    user, _ = owner
    page.route(route, lambda r: r.fulfill(status=status, content_type="application/json", body=json.dumps(body)))
    open_page(page, page_url(server, sign_init_data(BOT_TOKEN, user)))
    assert page.inner_text('[data-testid="message-title"]') == title
    assert not page.locator('[data-testid="dashboard"]').is_visible()


def test_best_times_without_enough_data_says_why(page, server, owner):
    user, _ = owner
    reason = "fewer than 20 posts with views at 24 hours"

    def not_enough(r):
        answer = r.fetch().json()
        answer.update(status="not_enough_data", reason=reason, slots=[])
        r.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

    page.route("**/api/v1/channels/*/best-times", not_enough)
    open_page(page, page_url(server, sign_init_data(BOT_TOKEN, user)))
    assert page.locator('[data-testid="best-time"]').count() == 0
    text = page.inner_text('[data-testid="best-times-message"]')
    assert text.startswith("Not enough data yet") and reason in text


def test_inside_telegram_the_page_takes_init_data_and_theme_from_telegram_webapp(page, server, owner):
    # What telegram-web-app.js would provide, if a client injected it: it wins over the (here absent) fragment.
    user, channel_ids = owner
    theme = {**DARK, "bg_color": "#102030"}
    page.add_init_script(f"""window.Telegram = {{WebApp: {{
        initData: {json.dumps(sign_init_data(BOT_TOKEN, user))}, themeParams: {json.dumps(theme)},
        ready() {{ window.__webAppReady = true; }}, expand() {{}}, onEvent() {{}}}}}};""")
    open_page(page, f"{server}/app/")
    assert int(page.get_attribute("body", "data-channel-id")) in channel_ids
    assert page.evaluate("window.__webAppReady") is True
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == rgb(theme["bg_color"])
