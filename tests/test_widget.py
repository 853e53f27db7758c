"""The website widget (web/widget/) end to end, in real headless Chromium against the real servers.

Conversation, reload and HTML injection; WCAG 2.1 AA with axe-core; keyboard only; what Chromium's
accessibility tree exposes; English and French; 320 px, 200 % zoom and 1280 px; reduced motion.
Screenshots go to tests/artifacts/ (docs/widget-320.png and docs/widget-1280.png are copies of them).

Each test gets a fresh browser context (empty storage). PROBE, a test-only script run before the page's
own, wraps socket.io's `io` as the widget loads it: it records what the widget emits, can hold the server's
replies (to look at the typing indicator), can rewrite the next reply (a server `lang`, feedback buttons,
hostile Markdown) and the session id the server confirms. The widget itself has no test hooks.
"""
from __future__ import annotations

import contextlib
import json
from typing import Dict, Iterator, List, Optional

import pytest
from playwright.sync_api import expect, sync_playwright

from bot.answers import feedback
from bot.answers.content_store import load_content
from bot.settings import ROOT
from tests.support import CHROMIUM, CHROMIUM_ARGS, LOG_DIR

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# axe-core's rules for WCAG 2.0 and 2.1, levels A and AA. Every rule with these tags runs; none is disabled
# (a rule switched off would need its reason written here).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_DISABLED: Dict[str, str] = {}
XSS = '<img src=x onerror="window.__xss = 1; alert(1)"><script>window.__xss = 2</script>'
HOSTILE_MARKDOWN = ('**Bold** <img src=x onerror="window.__xss = 3"> [bad](javascript:window.__xss=4) '
                    '[IOM](https://www.iom.int/) <script>window.__xss = 5</script>')
UI = {
    "en": {"launcher": "Chat with us", "title": "IOM Brussels", "input": "Your question", "send": "Send",
           "close": "Close the chat", "log": "Conversation", "placeholder": "Type your question…",
           "typing": "The assistant is typing…", "suggestions": "Suggested questions", "language": "Language"},
    "fr": {"launcher": "Discuter avec nous", "title": "OIM Bruxelles", "input": "Votre question", "send": "Envoyer",
           "close": "Fermer la discussion", "log": "Conversation", "placeholder": "Écrivez votre question…",
           "typing": "L’assistant écrit…", "suggestions": "Questions suggérées", "language": "Langue"},
}
BOT_MESSAGES = ".iomc-msg-bot:not(.iomc-typing)"
CONTENT = load_content()
# The 👍 / 👎 buttons the server adds under every content answer (bot/answers/feedback.py).
RATINGS = [CONTENT.message("feedback_up_button", "en"), CONTENT.message("feedback_down_button", "en")]
LAST_FOLLOWUP = CONTENT.entries["office_context"].followups[-1]
QUESTION = "When was the Brussels office established?"
FOLLOWUPS = [CONTENT.entries[i].title["en"] for i in CONTENT.entries["office_established"].followups]
NEXT_FOLLOWUPS = [CONTENT.entries[i].title["en"] for i in CONTENT.entries["office_context"].followups]
TIMEOUT = 20_000

PROBE = """
(() => {
  const probe = window.__probe = { emitted: [], held: [], hold: false, rewrite: null, announced: [], confirmAs: null };
  probe.release = () => { probe.hold = false; probe.held.splice(0).forEach((deliver) => deliver()); };
  // Every text change in the widget's live regions (role=log and role=status), as a screen reader gets it.
  probe.watch = () => new MutationObserver((records) => {
    for (const r of records) {
      const region = (r.target.nodeType === 1 ? r.target : r.target.parentElement).closest("[role=log],[role=status]");
      for (const node of r.addedNodes) {
        const element = node.nodeType === 1 ? node : node.parentElement;
        if (region && !(element && element.closest("[aria-hidden=true]")) && node.textContent.trim())
          probe.announced.push([region.getAttribute("role"), node.textContent.trim()]);
      }
    }
  }).observe(document.querySelector(".iomc-dialog"), { childList: true, subtree: true, characterData: true });
  let real;
  Object.defineProperty(window, "io", {
    configurable: true,
    get() { return real; },
    set(io) {
      real = function () {
        const socket = io.apply(null, arguments);
        const emit = socket.emit.bind(socket);
        socket.emit = (event, data) => {
          probe.emitted.push([event, JSON.parse(JSON.stringify(data))]);
          return emit(event, data);
        };
        const on = socket.on.bind(socket);
        socket.on = (event, handler) => on(event, (data) => {
          if (event === "session_confirm" && probe.confirmAs) data = probe.confirmAs;
          if (event !== "bot_uttered") return handler(data);
          if (probe.rewrite) { data = probe.rewrite(data); probe.rewrite = null; }
          if (probe.hold) probe.held.push(() => handler(data)); else handler(data);
        });
        return socket;
      };
    },
  });
})();
"""

FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  const name = e.getAttribute("aria-label") || (e.labels && e.labels.length ? e.labels[0].textContent : e.textContent);
  return { name: name.trim(), tag: e.tagName, outline: s.outlineStyle, width: parseFloat(s.outlineWidth) };
}"""

# The widget is on the page and its stylesheet applied.
MOUNTED = """() => { const root = document.querySelector(".iomc");
  return root && !root.hidden && getComputedStyle(root.querySelector(".iomc-launcher")).position === "fixed"; }"""

MOVING = """() => Array.from(document.querySelectorAll(".iomc, .iomc *")).flatMap((e) => {
  const s = getComputedStyle(e), longest = (v) => Math.max(...v.split(",").map(parseFloat));
  const found = [];
  if (s.animationName !== "none" && longest(s.animationDuration) > 0)
    found.push(`${e.className}: animation ${s.animationName} ${s.animationDuration}`);
  if (longest(s.transitionDuration) > 0) found.push(`${e.className}: transition ${s.transitionDuration}`);
  return found;
})"""


# WCAG relative luminance contrast of colour pairs axe leaves out: {what: [ratio, needed]}.
CONTRASTS = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const behind = (e) => {  // the first opaque background among the ancestors
    for (let n = e.parentElement; n; n = n.parentElement) {
      const bg = getComputedStyle(n).backgroundColor;
      if (!/rgba\\(.*, 0\\)$/.test(bg)) return bg;
    }
    return "rgb(255, 255, 255)";
  };
  const box = document.querySelector(".iomc-input"), reply = document.querySelector(".iomc-reply");
  const out = {
    placeholder: [ratio(getComputedStyle(box, "::placeholder").color, getComputedStyle(box).backgroundColor), 4.5],
    "text box border": [ratio(getComputedStyle(box).borderTopColor, behind(box)), 3],
    "follow-up border": [ratio(getComputedStyle(reply).borderTopColor, behind(reply)), 3],
  };
  for (const e of document.querySelectorAll(".iomc button:not([hidden]), .iomc input, .iomc [tabindex='0']")) {
    if (!e.getClientRects().length) continue;
    e.focus({ focusVisible: true });
    const label = e.getAttribute("aria-label") || e.textContent.trim() || e.className;
    const ring = getComputedStyle(e);
    out["focus ring of " + label] = [ring.outlineStyle === "solid" ? ratio(ring.outlineColor, behind(e)) : 0, 3];
  }
  return out;
}"""


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@contextlib.contextmanager
def widget_page(browser, bot, width: int = 1280, height: int = 800, scale: float = 1, page_lang: Optional[str] = None,
                **context_options) -> Iterator:
    """The demo page in a fresh context, the widget mounted (closed); `page_lang` rewrites <html lang>."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale,
                                  **context_options)
    context.add_init_script(PROBE)
    page = context.new_page()
    if page_lang:
        def french_site(route):
            response = route.fetch()
            route.fulfill(response=response, body=response.text().replace('lang="en"', f'lang="{page_lang}"', 1))
        page.route(bot.page_url, french_site)
    try:
        page.goto(bot.page_url)
        page.wait_for_function(MOUNTED)
        page.evaluate("() => __probe.watch()")
        yield page
    finally:
        context.close()


def reload(page):
    page.reload()
    page.wait_for_function(MOUNTED)
    page.evaluate("() => __probe.watch()")


def ui(lang: str = "en") -> Dict[str, str]:
    return UI[lang]


def open_chat(page, lang: str = "en"):
    page.get_by_role("button", name=ui(lang)["launcher"]).click()
    expect(page.locator(BOT_MESSAGES)).to_have_count(1, timeout=TIMEOUT)  # the greeting (/greet)


def ask(page, text: str, lang: str = "en"):
    """Types `text`, sends it with Enter and waits for one more answer."""
    answers = page.locator(BOT_MESSAGES).count()
    box = page.get_by_role("textbox", name=ui(lang)["input"])
    box.fill(text)
    box.press("Enter")
    expect(page.locator(BOT_MESSAGES)).to_have_count(answers + 1, timeout=TIMEOUT)


def emitted(page, event: str = "user_uttered") -> List[dict]:
    return [data for name, data in page.evaluate("() => __probe.emitted") if name == event]


def rewrite_next_reply(page, javascript: str):
    """`javascript` is a function body from the server's `data` to what the widget receives."""
    page.evaluate(f"() => {{ __probe.rewrite = (data) => {{ {javascript} }}; }}")


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def assert_focus_visible(where: dict):
    assert where["outline"] not in ("none", "hidden") and where["width"] >= 2, f"no visible focus on {where}"


def tab_until(page, name: str, key: str = "Tab", limit: int = 20) -> List[str]:
    """Presses `key` until the element named `name` has focus; returns the names passed, each with a visible
    focus ring."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        where = focused(page)
        assert_focus_visible(where)
        seen.append(where["name"])
        if where["name"] == name:
            return seen
    raise AssertionError(f"{key} never reached {name!r}: {seen}")


def ax_nodes(page) -> List[dict]:
    """Chromium's own accessibility tree (what screen readers get), as CDP reports it, ignored nodes left out."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    return [n for n in nodes if not n.get("ignored")]


def ax(node: dict, key: str):
    if key in ("role", "name", "description"):
        return (node.get(key) or {}).get("value")
    return next((p["value"].get("value") for p in node.get("properties", []) if p["name"] == key), None)


def run_axe(page, label: str) -> None:
    """Runs axe-core's WCAG 2.0/2.1 A and AA rules on the whole page; fails on any violation, listing them."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate("""async ([tags, disabled]) => {
      const rules = Object.fromEntries(disabled.map((id) => [id, { enabled: false }]));
      return await axe.run(document, { runOnly: { type: "tag", values: tags }, rules, resultTypes: ["violations"] });
    }""", [AXE_TAGS, list(AXE_DISABLED)])
    kinds = ("passes", "violations", "incomplete", "inapplicable")
    checked = sorted({rule["id"] for kind in kinds for rule in results[kind]})
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / f"axe-{label}.json").write_text(json.dumps(results, indent=1))
    print(f"axe {results['testEngine']['version']} on {label}: {len(checked)} rules: {' '.join(checked)}")
    for item in results["incomplete"]:
        print(f"  needs review (not failed): {item['id']}: {[n['target'] for n in item['nodes']][:5]}")
    problems = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}\n    "
                f"{v['nodes'][0]['failureSummary']}" for v in results["violations"]]
    assert not problems, f"axe found WCAG 2.1 AA violations on {label}:\n" + "\n".join(problems)
    assert len(checked) > 40, checked  # the rules did run


# ---------------------------------------------------------------------------------------------- tests


def test_widget_conversation_buttons_reload_and_no_html_injection(bot, browser):
    with widget_page(browser, bot) as page:
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        open_chat(page)
        log = page.get_by_role("log")
        expect(log).to_contain_text("welcome")  # the greeting, from the "/greet" sent on opening
        assert emitted(page)[0]["message"] == "/greet"

        ask(page, QUESTION)
        expect(log).to_contain_text("2011")
        expect(log.locator("strong", has_text="September 2011")).to_be_visible()  # Markdown kept
        page.get_by_role("button", name=FOLLOWUPS[0]).click()
        expect(log).to_contain_text("Lisbon", timeout=TIMEOUT)
        expect(page.locator(".iomc-msg-user").last).to_contain_text(FOLLOWUPS[0])  # the title, not the payload
        assert emitted(page)[-1]["message"] == CONTENT.entries["office_context"].payload
        for title in NEXT_FOLLOWUPS:
            expect(page.get_by_role("button", name=title)).to_be_visible()

        stored = page.evaluate("() => JSON.parse(localStorage.getItem('iom-chat'))")
        session = stored["sessionId"]
        confirmed = [data for name, data in page.evaluate("() => __probe.emitted") if name == "session_request"]
        assert session and confirmed == [{"session_id": None}]
        assert all(m["session_id"] == session for m in emitted(page))
        answers = page.locator(BOT_MESSAGES).count()

        reload(page)
        log = page.get_by_role("log")
        expect(log).to_be_visible()  # reopened, as it was
        expect(log).to_contain_text("2011")
        expect(log).to_contain_text("Lisbon")
        assert page.locator(BOT_MESSAGES).count() == answers
        for title in NEXT_FOLLOWUPS:  # the last answer's buttons are back
            expect(page.get_by_role("button", name=title)).to_be_visible()
        page.wait_for_function("() => __probe.emitted.some(([name]) => name === 'session_request')")
        assert emitted(page, "session_request") == [{"session_id": session}]

        rewrite_next_reply(page, f"return Object.assign({{}}, data, {{ text: {json.dumps(HOSTILE_MARKDOWN)} }});")
        ask(page, XSS)
        expect(page.locator(".iomc-msg-user").last).to_contain_text("onerror")  # shown as text
        assert emitted(page)[-1]["session_id"] == session  # the same conversation after the reload
        page.wait_for_timeout(1000)  # give any injected handler time to run
        assert page.evaluate("() => window.__xss") is None
        assert dialogs == []
        assert page.locator(".iomc img, .iomc script").count() == 0
        reply = page.locator(BOT_MESSAGES).last
        expect(reply.locator("strong")).to_have_text("Bold")
        expect(reply).to_contain_text('<img src=x onerror="window.__xss = 3">')
        links = reply.locator("a")
        expect(links).to_have_count(1)  # the javascript: link stays text
        assert links.get_attribute("href") == "https://www.iom.int/"
        assert links.get_attribute("rel") == "noopener noreferrer"
        expect(links).to_have_accessible_name("IOM (opens in a new tab)")
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(LOG_DIR / "widget-after-reload.png"))


def test_the_session_id_the_server_confirms_is_the_one_stored_and_used(bot, browser):
    """The server may replace the id the widget asks for (signed ids, unknown ids): the widget then stores the
    confirmed one, starts a new conversation (the server has forgotten the old one) and talks with it."""
    with widget_page(browser, bot) as page:
        open_chat(page)
        ask(page, QUESTION)
        asked_for = page.evaluate("() => JSON.parse(localStorage.getItem('iom-chat')).sessionId")
        page.context.add_init_script("window.__probe.confirmAs = 'issued-by-the-server';")
        reload(page)
        page.wait_for_function("() => localStorage.getItem('iom-chat').includes('issued-by-the-server')")
        assert emitted(page, "session_request") == [{"session_id": asked_for}]
        expect(page.locator(".iomc-msg-user")).to_have_count(0)  # the old transcript is gone
        assert [(m["message"], m["session_id"]) for m in emitted(page)] == [("/greet", "issued-by-the-server")]


def test_page_embeds_the_widget_from_our_origin(bot):
    response = bot.session.get(bot.page_url, timeout=10)
    page = response.text
    assert '<script src="/widget/iom-chat.js"></script>' in page and "IOMChat.init(" in page
    assert "cdn" not in page.lower() and "webchat" not in page.lower()
    assert "script-src 'self' 'nonce-" in response.headers["Content-Security-Policy"]
    for path, marker in [("widget/iom-chat.js", "IOMChat"), ("widget/iom-chat.css", ".iomc"),
                         ("widget/socket.io.min.js", "Socket.IO v4.")]:
        served = bot.session.get(bot.page_url + path, timeout=10)
        assert served.status_code == 200 and marker in served.text[:3000], path


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_axe_finds_no_wcag_21_aa_violation(bot, browser, lang):
    """Closed, then open with a conversation holding follow-up buttons, a user message and the typing
    indicator, at 1280 px; then at 320 px. (bypass_csp: axe is injected as an inline script.)"""
    with widget_page(browser, bot, page_lang=lang if lang != "en" else None, bypass_csp=True) as page:
        run_axe(page, f"{lang}-closed")
        open_chat(page, lang)
        ask(page, QUESTION, lang)
        expect(page.get_by_role("button", name=FOLLOWUPS[0])).to_be_visible()
        page.evaluate("() => { __probe.hold = true; }")
        page.get_by_role("button", name=FOLLOWUPS[0]).click()
        expect(page.locator(".iomc-typing")).to_be_visible()
        run_axe(page, f"{lang}-open-1280")
        page.evaluate("() => __probe.release()")
        expect(page.get_by_role("log")).to_contain_text("Lisbon", timeout=TIMEOUT)
        page.set_viewport_size({"width": 320, "height": 568})
        run_axe(page, f"{lang}-open-320")


def test_keyboard_only(bot, browser):
    with widget_page(browser, bot) as page:
        launcher = page.get_by_role("button", name=ui()["launcher"])
        box = page.get_by_role("textbox", name=ui()["input"])
        tab_until(page, ui()["launcher"])
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog", name=ui()["title"])).to_be_visible()
        expect(box).to_be_focused()
        expect(page.locator(BOT_MESSAGES)).to_have_count(1, timeout=TIMEOUT)
        assert emitted(page)[0]["message"] == "/greet"  # the Enter that opened it did not also send

        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")
        expect(page.get_by_role("log")).to_contain_text("September 2011", timeout=TIMEOUT)
        expect(box).to_be_focused()
        expect(box).to_have_value("")

        # Every control of the dialog in order, each with a visible focus ring: back to the close button,
        # then forward to the send button through the language switch, the message list and each follow-up.
        tab_until(page, ui()["close"], key="Shift+Tab")
        order = tab_until(page, ui()["send"])
        assert order == ["English", "Français", ui()["log"], *FOLLOWUPS, *RATINGS, ui()["input"], ui()["send"]], order

        # A follow-up activated with Enter: its answer comes, focus lands in the text box (its button is gone).
        tab_until(page, FOLLOWUPS[0], key="Shift+Tab")
        page.keyboard.press("Enter")
        expect(page.get_by_role("log")).to_contain_text("Lisbon", timeout=TIMEOUT)
        expect(box).to_be_focused()
        assert emitted(page)[-1]["message"] == CONTENT.entries["office_context"].payload

        # The next answer's follow-ups, then its 👍 / 👎: the last follow-up, activated with Space.
        answers = page.locator(BOT_MESSAGES).count()
        assert tab_until(page, NEXT_FOLLOWUPS[-1], key="Shift+Tab") == [RATINGS[1], RATINGS[0], NEXT_FOLLOWUPS[-1]]
        page.keyboard.press("Space")
        expect(page.locator(BOT_MESSAGES)).to_have_count(answers + 1, timeout=TIMEOUT)
        expect(page.locator(".iomc-msg-user").last).to_contain_text(NEXT_FOLLOWUPS[-1])
        expect(box).to_be_focused()
        order = tab_until(page, RATINGS[1], key="Shift+Tab")
        assert order[0] == RATINGS[1], order  # the last button, just before the text box
        page.keyboard.press("Shift+Tab")
        assert focused(page)["name"] == RATINGS[0]
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.locator(".iomc-msg-user").last).to_contain_text(RATINGS[1])
        assert emitted(page)[-1]["message"] == feedback.payload(LAST_FOLLOWUP, "down")
        expect(page.locator(BOT_MESSAGES)).to_have_count(answers + 2, timeout=TIMEOUT)

        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()
        expect(launcher).to_be_focused()
        assert_focus_visible(focused(page))
        page.keyboard.press("Enter")  # and back, the conversation still there
        expect(box).to_be_focused()
        expect(page.get_by_role("log")).to_contain_text("Lisbon")


def test_accessibility_tree(bot, browser):
    with widget_page(browser, bot) as page:
        nodes = ax_nodes(page)
        [launcher] = [n for n in nodes if ax(n, "role") == "button" and ax(n, "name") == ui()["launcher"]]
        assert ax(launcher, "expanded") is False

        open_chat(page)
        ask(page, QUESTION)
        nodes = ax_nodes(page)
        by_role: Dict[str, List[dict]] = {}
        for node in nodes:
            by_role.setdefault(ax(node, "role"), []).append(node)
        [dialog] = by_role["dialog"]
        assert ax(dialog, "name") == ui()["title"] and ax(dialog, "description")
        [log] = by_role["log"]
        assert ax(log, "name") == ui()["log"] and ax(log, "live") == "polite" and ax(log, "relevant") == "additions"
        [textbox] = by_role["textbox"]
        assert ax(textbox, "name") == ui()["input"]
        buttons = {ax(n, "name"): n for n in by_role["button"]}
        assert all(buttons), "a button without a name"
        for name in (ui()["send"], ui()["close"], "English", "Français", *FOLLOWUPS):
            assert name in buttons, (name, list(buttons))
        assert ax(buttons["English"], "pressed") == "true" and ax(buttons["Français"], "pressed") == "false"
        groups = {ax(n, "name") for n in by_role["group"]}
        assert {ui()["language"], ui()["suggestions"]} <= groups, groups
        unnamed = [ax(n, "role") for n in nodes if ax(n, "focusable") and not ax(n, "name")
                   and ax(n, "role") not in ("RootWebArea", "generic")]
        assert not unnamed, unnamed
        statuses = by_role["status"]
        assert statuses and all(ax(n, "live") == "polite" for n in statuses)

        # The typing indicator: one polite announcement per wait, the animated dots hidden.
        page.evaluate("() => { __probe.hold = true; __probe.announced.length = 0; }")
        page.get_by_role("button", name=FOLLOWUPS[0]).click()
        expect(page.locator(".iomc-typing")).to_be_visible()
        page.wait_for_timeout(1500)  # the dots animate meanwhile
        typing = [n for n in ax_nodes(page) if ui()["typing"] in (ax(n, "name") or "")]
        assert typing and all(ax(n, "role") in ("StaticText", "InlineTextBox", "status") for n in typing), typing
        assert len([n for n in typing if ax(n, "role") == "StaticText"]) == 1
        page.evaluate("() => __probe.release()")
        expect(page.get_by_role("log")).to_contain_text("Lisbon", timeout=TIMEOUT)
        expect(page.locator(".iomc-typing")).to_be_hidden()
        announced = page.evaluate("() => __probe.announced")
        assert [a for a in announced if ui()["typing"] in a[1]] == [["status", ui()["typing"]]], announced
        assert [a[0] for a in announced] == ["log", "status", "log", "log"], announced  # you, typing, answer, buttons
        assert not [n for n in ax_nodes(page) if ui()["typing"] in (ax(n, "name") or "")]


def test_french_page_french_strings_and_switch_to_english(bot, browser):
    fr = ui("fr")
    with widget_page(browser, bot, page_lang="fr") as page:
        open_chat(page, "fr")
        expect(page.get_by_role("dialog", name=fr["title"])).to_be_visible()
        box = page.get_by_role("textbox", name=fr["input"])
        expect(box).to_have_attribute("placeholder", fr["placeholder"])
        expect(page.get_by_role("button", name=fr["close"])).to_be_visible()
        expect(page.get_by_role("button", name=fr["send"])).to_be_visible()
        expect(page.locator(".iomc")).to_have_attribute("lang", "fr")
        assert emitted(page)[0]["metadata"] == {"language": "fr", "page": "/"}
        expect(page.locator(BOT_MESSAGES).last.locator(".iomc-bubble")).to_have_attribute("lang", "fr")

        answers = page.locator(BOT_MESSAGES).count()
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("textbox", name=ui()["input"])).to_have_attribute("placeholder", ui()["placeholder"])
        expect(page.get_by_role("dialog", name=ui()["title"])).to_be_visible()
        expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
        assert emitted(page)[-1]["message"] == '/switch_language{"language": "en"}'
        assert emitted(page)[-1]["metadata"]["language"] == "en"
        expect(page.locator(".iomc-msg-user").last.locator(".iomc-bubble")).to_have_attribute("lang", "en")
        expect(page.locator(BOT_MESSAGES)).to_have_count(answers + 1, timeout=TIMEOUT)

        reload(page)  # the visitor's choice outlives the reload, on a French page
        expect(page.get_by_role("textbox", name=ui()["input"])).to_be_visible()
        expect(page.locator(".iomc")).to_have_attribute("lang", "en")


def test_switch_to_french_changes_strings_metadata_and_reply_language(bot, browser):
    fr = ui("fr")
    with widget_page(browser, bot) as page:
        open_chat(page)
        page.get_by_role("button", name="Français").focus()
        page.keyboard.press("Enter")
        box = page.get_by_role("textbox", name=fr["input"])
        expect(box).to_have_attribute("placeholder", fr["placeholder"])
        expect(page.get_by_role("dialog", name=fr["title"])).to_be_visible()
        expect(page.get_by_role("button", name=fr["close"])).to_be_visible()
        switch = emitted(page)[-1]
        assert switch["message"] == '/switch_language{"language": "fr"}' and switch["metadata"]["language"] == "fr"
        expect(page.locator(BOT_MESSAGES)).to_have_count(2, timeout=TIMEOUT)

        # The reply's language: the server's `lang` when it sends one, else the widget's.
        rewrite_next_reply(page, "window.__serverLang = data.lang || null; return data;")
        ask(page, QUESTION, "fr")
        assert emitted(page)[-1]["metadata"] == {"language": "fr", "page": "/"}
        server_lang = page.evaluate("() => window.__serverLang")
        expect(page.locator(BOT_MESSAGES).last.locator(".iomc-bubble")).to_have_attribute("lang", server_lang or "fr")
        rewrite_next_reply(page, "return Object.assign({}, data, { lang: 'en' });")
        ask(page, "What is IOM?", "fr")
        expect(page.locator(BOT_MESSAGES).last.locator(".iomc-bubble")).to_have_attribute("lang", "en")


@pytest.mark.parametrize("label, width, height, scale", [
    ("320", 320, 568, 1),
    ("zoom200", 640, 400, 2),  # 1280 x 800 at 200 % zoom: the page gets 640 x 400 CSS px
    ("1280", 1280, 800, 1),
])
def test_no_horizontal_scrolling_and_screenshots(bot, browser, label, width, height, scale):
    with widget_page(browser, bot, width=width, height=height, scale=scale) as page:
        page.locator(".iomc-launcher").click()
        expect(page.locator(BOT_MESSAGES)).to_have_count(1, timeout=TIMEOUT)
        ask(page, QUESTION)
        ask(page, "Tell me about https://www.iom.int/about-iom/this/is/a/very/long/address/without/any/space "
                  "and Migrationszusammenarbeitsvereinbarungsverhandlungen")
        ask(page, QUESTION)
        scroll = page.evaluate("""() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
            ...[".iomc-dialog", ".iomc-log", ".iomc-header", ".iomc-form"].flatMap((s) => {
              const e = document.querySelector(s); return [e.scrollWidth, e.clientWidth]; })]""")
        for i in range(0, len(scroll), 2):
            assert scroll[i] <= scroll[i + 1], f"horizontal scrolling at {label}: {scroll}"
        outside = page.evaluate(f"""() => Array.from(document.querySelectorAll(".iomc button, .iomc input"))
            .filter((e) => e.getClientRects().length).map((e) => e.getBoundingClientRect())
            .filter((r) => r.left < 0 || r.right > {width} + 0.5).length""")
        assert outside == 0
        if width <= 640:  # full screen: Tab stays in the chat, like a modal
            expect(page.get_by_role("dialog")).to_have_attribute("aria-modal", "true")
            page.get_by_role("button", name=ui()["send"]).focus()
            page.keyboard.press("Tab")
            assert focused(page)["name"] == ui()["close"]
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        page.get_by_role("textbox", name=ui()["input"]).focus()
        page.get_by_role("log").evaluate("(log) => { log.scrollTop = log.scrollHeight; }")
        page.wait_for_timeout(400)
        page.screenshot(path=str(LOG_DIR / f"widget-{label}.png"))


def test_contrast_that_axe_does_not_check(bot, browser):
    """axe checks text contrast; these are the rest of WCAG 1.4.3/1.4.11: placeholder text (4.5:1), the text
    box border, the follow-up buttons' border and every focus ring against what is behind it (3:1)."""
    with widget_page(browser, bot) as page:
        open_chat(page)
        ask(page, QUESTION)
        ratios = page.evaluate(CONTRASTS)
        low = {what: ratio for what, (ratio, needed) in ratios.items() if ratio < needed}
        print(ratios)
        assert len(ratios) > 8 and not low, ratios


def test_reduced_motion_stops_every_animation(bot, browser):
    for motion in ("no-preference", "reduce"):
        with widget_page(browser, bot, reduced_motion=motion) as page:
            open_chat(page)
            page.evaluate("() => { __probe.hold = true; }")
            page.get_by_role("textbox", name=ui()["input"]).fill(QUESTION)
            page.keyboard.press("Enter")
            expect(page.locator(".iomc-typing")).to_be_visible()
            moving = page.evaluate(MOVING)
            if motion == "reduce":
                assert moving == []
                assert page.evaluate("() => matchMedia('(prefers-reduced-motion: reduce)').matches")
            else:  # so that the check above means something
                assert any("iomc-bounce" in m for m in moving) and any("iomc-appear" in m for m in moving), moving
            page.evaluate("() => __probe.release()")
