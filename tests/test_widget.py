"""The website widget end to end: rasa-webchat in real headless Chromium against the real servers."""
from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support import LOG_DIR

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network: without the background-networking ones Chromium keeps dialling Google.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
XSS = '<img src=x onerror="window.__xss = 1; alert(1)"><script>window.__xss = 2</script>'


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def ask(page, text):
    box = page.locator(".rw-new-message")
    box.fill(text)
    box.press("Enter")


def test_widget_conversation_buttons_reload_and_no_html_injection(bot, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(bot.page_url)
    page.locator(".rw-launcher").click()
    messages = page.locator(".rw-messages-container")
    expect(messages).to_contain_text("welcome", timeout=20_000)  # the initial greeting (initPayload)

    ask(page, "When was the Brussels office established?")
    expect(messages).to_contain_text("2011", timeout=20_000)
    expect(page.locator(".rw-message strong", has_text="September 2011")).to_be_visible()  # Markdown kept
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(LOG_DIR / "widget.png"))

    page.locator(".rw-reply", has_text="Why was it set up then?").click()
    expect(messages).to_contain_text("Lisbon", timeout=20_000)

    session = page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id")
    page.reload()
    page.locator(".rw-launcher").wait_for()
    page.wait_for_timeout(1500)  # the widget restores its saved state (open or closed) after mounting
    if not page.locator(".rw-messages-container").is_visible():
        page.locator(".rw-launcher").click()
    messages = page.locator(".rw-messages-container")
    expect(messages).to_contain_text("2011", timeout=20_000)
    expect(messages).to_contain_text("Lisbon")
    assert page.evaluate("() => JSON.parse(localStorage.getItem('chat_session')).session_id") == session

    ask(page, XSS)
    expect(messages).to_contain_text("onerror", timeout=20_000)  # shown as text
    page.wait_for_timeout(1500)  # give any injected handler time to run
    assert page.evaluate("() => window.__xss") is None
    assert dialogs == []
    assert page.locator(".rw-messages-container img[src='x']").count() == 0
    assert page.locator(".rw-messages-container script").count() == 0
    page.screenshot(path=str(LOG_DIR / "widget-after-reload.png"))
    context.close()


def test_page_embeds_the_widget_from_our_origin(bot):
    page = bot.session.get(bot.page_url, timeout=10).text
    assert '<script src="/webchat.js"></script>' in page and "cdn" not in page.lower()
    bundle = bot.session.get(bot.page_url + "webchat.js", timeout=10)
    assert bundle.status_code == 200 and "WebChat" in bundle.text[:2000]
