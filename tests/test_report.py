"""`make report` (tools/report.py) over a tracker store of known conversations (tests/tracker_fixture.py).

The figures are read back from the JSON the page embeds (what the page shows) and compared with counts made
by hand from the fixture's table; the page itself is checked for masking, escaping and self-containment, and
(marked live: it starts Chromium) rendered in headless Chromium with no console error. The screenshot goes
to tests/artifacts/report.png; docs/report.png is a copy of it (reduced to 64 colours).
"""
from __future__ import annotations

import html
import io
import json
import re
from datetime import date, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import SettingError, Settings
from tests.support import CHROMIUM, CHROMIUM_ARGS, LOG_DIR
from tests.tracker_fixture import DIRECTOR, DIRECTOR_HELD_OUT, FIRST_DAY, GENEVA, LAST_DAY, SECRETS, build_tracker_db
from tests.tracker_fixture import turn_log_lines as fixture_turn_log
from tools import conversations
from tools.conversations import Period, StoreError, scan, store_url
from tools.privacy import mask

BRUSSELS = ZoneInfo("Europe/Brussels")
SECTIONS = ["summary", "activity", "outcomes", "answers", "unanswered", "uncertain", "feedback", "latency",
            "transcripts"]


@pytest.fixture(scope="module")
def tracker_db(tmp_path_factory) -> Path:
    return build_tracker_db(tmp_path_factory.mktemp("report") / "tracker.db")


@pytest.fixture(autouse=True)
def default_settings(monkeypatch):
    """The fixture's days are Brussels days, whatever REPORT_TIMEZONE the developer's shell has."""
    monkeypatch.setattr(conversations, "settings", lambda: Settings())


def build(tracker_db: Path, out: Path, *extra: str) -> str:
    from tools.report import main
    assert main(["--db", f"sqlite:///{tracker_db}", "--from", FIRST_DAY, "--to", LAST_DAY, "--out", str(out),
                 *extra]) == 0
    return out.read_text(encoding="utf-8")


def embedded(page: str) -> dict:
    found = re.findall(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert len(found) == 1
    return json.loads(found[0])


@pytest.fixture(scope="module")
def page(tracker_db, tmp_path_factory) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conversations, "settings", lambda: Settings())
        return build(tracker_db, tmp_path_factory.mktemp("out") / "report.html")


@pytest.fixture(scope="module")
def figures(page) -> dict:
    return embedded(page)


def test_it_writes_one_file_and_prints_its_path(tracker_db, tmp_path, capsys):
    out = tmp_path / "sub" / "r.html"
    build(tracker_db, out)
    assert capsys.readouterr().out.strip() == str(out.resolve())
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary file left behind


def test_conversations_and_messages_per_day_by_channel_and_language(figures):
    assert figures["period"] == {"from": FIRST_DAY, "to": LAST_DAY, "timezone": "Europe/Brussels"}
    days = {d["day"]: d for d in figures["days"]}
    assert list(days) == ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    conversations_ = {d: (v["conversations"]["total"], v["conversations"]["by_channel"],
                          v["conversations"]["by_language"]) for d, v in days.items()}
    assert conversations_ == {
        "2026-11-02": (3, {"rest": 1, "slack": 1, "socketio": 1}, {"en": 2, "fr": 1}),
        # rest:r-002 started on the 2nd and asked again on the 3rd: it counts on both days
        "2026-11-03": (4, {"rest": 2, "socketio": 2}, {"de": 1, "en": 2, "fr": 1}),
        "2026-11-04": (3, {"rest": 1, "slack": 1, "socketio": 1}, {"en": 3}),
        "2026-11-05": (2, {"socketio": 2}, {"en": 1, "fr": 1}),
    }
    messages = {d: (v["messages"]["total"], v["messages"]["questions"], v["messages"]["clicks"],
                    v["messages"]["by_channel"], v["messages"]["by_language"]) for d, v in days.items()}
    assert messages == {
        "2026-11-02": (8, 5, 3, {"rest": 2, "slack": 2, "socketio": 4}, {"en": 6, "fr": 2}),
        "2026-11-03": (9, 7, 2, {"rest": 3, "socketio": 6}, {"de": 1, "en": 3, "fr": 5}),
        "2026-11-04": (10, 9, 1, {"rest": 3, "slack": 3, "socketio": 4}, {"en": 10}),
        "2026-11-05": (7, 6, 1, {"socketio": 7}, {"en": 3, "fr": 4}),
    }
    totals = figures["totals"]
    # 11 conversations: the two just outside the period (in Brussels time) are not counted.
    assert totals["conversations"] == {"total": 11, "by_channel": {"rest": 3, "slack": 2, "socketio": 6},
                                       "by_language": {"de": 1, "en": 7, "fr": 3}}
    assert totals["messages"] == {"total": 34, "questions": 27, "clicks": 7,
                                  "by_channel": {"rest": 8, "slack": 5, "socketio": 21},
                                  "by_language": {"de": 1, "en": 22, "fr": 11}}


def test_answered_fallback_out_of_scope_and_did_you_mean_rates(figures):
    totals = figures["totals"]
    assert totals["outcomes"] == {"answered": 10, "fallback": 5, "did_you_mean": 1, "out_of_scope": 6, "other": 4,
                                  "no_reply": 1, "no_detail": 0}
    assert totals["rates"] == {"answered": round(10 / 27, 4), "fallback": round(5 / 27, 4),
                               "did_you_mean": round(1 / 27, 4), "out_of_scope": round(6 / 27, 4), "no_detail": 0.0}
    rates = {d["day"]: d["rates"] for d in figures["days"]}
    assert rates["2026-11-02"] == {"answered": 0.6, "fallback": 0.2, "did_you_mean": 0.2, "out_of_scope": 0.0,
                                   "no_detail": 0.0}
    assert rates["2026-11-04"] == {"answered": 0.2222, "fallback": 0.2222, "did_you_mean": 0.0,
                                   "out_of_scope": 0.4444, "no_detail": 0.0}
    assert {d["day"]: d["outcomes"]["no_reply"] for d in figures["days"]}["2026-11-05"] == 1


def test_a_detail_the_content_lacks_counts_as_unanswered():
    from bot.protocol import ReplyKind, TurnRecord
    from tools.conversations import UNANSWERED, Outcome, classify
    record = TurnRecord("ask_projects", 0.9, None, ReplyKind.NO_DETAIL, "en")
    assert classify(record) is Outcome.NO_DETAIL and Outcome.NO_DETAIL in UNANSWERED


def test_top_answers(figures):
    assert [(a["entry"], a["count"]) for a in figures["top_answers"]] == [
        ("office_established", 5), ("iom_about", 2), ("office_context", 1), ("office_role", 1),
        ("partners_overview", 1), ("priorities_overview", 1)]
    assert figures["top_answers"][0]["title"] == "When was the office set up?"


def test_unanswered_questions_grouped_by_meaning(figures, page):
    groups = figures["groups"]
    summary = [(g["count"], sorted(w["text"] for w in g["wordings"])) for g in groups]
    assert summary[:2] == [(4, sorted(DIRECTOR + [DIRECTOR_HELD_OUT])), (3, sorted(GENEVA))]
    assert [s[0] for s in summary[2:]] == [1] * 5 and len(groups) == 7  # the other five are unrelated
    director, geneva = groups[0], groups[1]
    assert (director["first_seen"], director["last_seen"]) == ("2026-11-02 11:01", "2026-11-05 16:01")
    assert (geneva["first_seen"], geneva["last_seen"]) == ("2026-11-02 10:00", "2026-11-03 15:01")
    assert director["outcomes"] == {"out_of_scope": 2, "did_you_mean": 1, "fallback": 1}
    assert director["languages"] == {"fr": 2, "en": 2}
    assert director["closest_intents"][0][0] == "ask_unavailable"
    assert geneva["closest_intents"][0] == ["ask_website", round((0.41 + 0.38 + 0.44) / 3, 3)]
    # Each group's row links to its transcripts, which show its questions in their conversations.
    for g in groups:
        assert f'href="#transcript-{g["anchor"]}"' in page
        section = re.search(rf'<section id="transcript-{g["anchor"]}".*?</section>', page, re.S).group(0)
        for w in g["wordings"]:
            assert html.escape(w["text"]) in section
    assert re.search(r'<tr id="group-1" data-group="1" data-count="4">', page)


def test_low_confidence_and_near_ties_with_the_competing_intents(figures):
    uncertain = figures["uncertain"]
    assert (uncertain["count"], uncertain["low_confidence"], uncertain["near_tie"]) == (6, 5, 1)
    [tie] = [t for t in uncertain["turns"] if t["reason"] == "ambiguous"]
    assert tie["text"] == DIRECTOR[2] and tie["intents"] == [["ask_unavailable", 0.46], ["ask_office_role", 0.4]]
    assert tie["reply"] == "did_you_mean"
    assert {tuple(p["intents"]): p["count"] for p in uncertain["pairs"]} == {
        ("ask_office_role", "ask_unavailable"): 2, ("ask_office_role", "ask_website"): 2,
        ("ask_iom_work", "ask_website"): 1, ("greet", "out_of_scope"): 1}


def test_feedback_per_answer_merged_per_conversation(figures):
    feedback = {r["entry"]: r for r in figures["feedback"]}
    # office_role's 👎 was given after the period: not counted.
    assert set(feedback) == {"office_established", "partners_overview", "iom_about"}
    established = feedback["office_established"]
    assert (established["up"], established["down"], established["reasons"]["wrong"]) == (1, 1, 1)
    assert [c["text"] for c in established["comments"]] == ["Call me on [phone], the date is wrong"]
    partners = feedback["partners_overview"]  # rating, then reason, then comment: one merged rating
    assert (partners["up"], partners["down"], partners["reasons"]) == (0, 1, {"missing": 1, "unclear": 0,
                                                                                "wrong": 0})
    assert partners["comments"] == [{"text": "Il manque des partenaires, écrivez-moi à [email]", "rating": "down",
                                     "reason": "missing", "at": "2026-11-03 14:04"}]
    assert (feedback["iom_about"]["up"], feedback["iom_about"]["down"]) == (1, 0)


def test_latency_from_the_tracker_store(figures):
    latency = figures["latency"]
    assert "tracker store" in latency["source"]
    # 33 replied turns (one got no reply); first bot event after the user event, in ms, from the fixture.
    assert (latency["count"], latency["p50_ms"], latency["p95_ms"]) == (33, 250.0, 520.0)
    assert latency["by_channel"]["slack"] == {"count": 5, "p50_ms": 400.0, "p95_ms": 560.0}


def test_latency_from_a_turn_log(tracker_db, tmp_path):
    log = tmp_path / "server.log"
    log.write_text("\n".join(fixture_turn_log()) + "\n", encoding="utf-8")
    latency = embedded(build(tracker_db, tmp_path / "r.html", "--turn-log", str(log)))["latency"]
    assert "turn log" in latency["source"]
    # 100, 200, ... 2000 ms in the period; the lines before and after it (99999 ms) are left out.
    assert (latency["count"], latency["p50_ms"], latency["p95_ms"]) == (20, 1050.0, 1905.0)
    assert latency["by_channel"]["rest"]["count"] == 5


def test_personal_data_never_appears(page):
    for text in (page, html.unescape(page)):
        for secret in SECRETS:
            assert secret not in text, secret
    for placeholder in ("[email]", "[phone]", "[iban]", "[number]"):
        assert placeholder in page


def test_visitor_text_is_escaped_and_the_page_is_self_contained(page):
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 1  # the JSON data block, which no browser runs
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    for external in ("src=", "<link", "@import", "url(http", 'href="http', "href='http"):
        assert external not in page, external


@pytest.mark.parametrize("text,masked", [
    ("write to jane.doe@example.org now", "write to [email] now"),
    ("call +32 2 555 12 34 or 0032 2 555 12 34", "call [phone] or [phone]"),
    ("(02) 555-1234, 0470/12.34.56, 0470123456, +44 20 7946 0958", "[phone], [phone], [phone], [phone]"),
    ("from BE71 0961 2345 6769 or GB29 NWBK 6016 1331 9268 19 please", "from [iban] or [iban] please"),
    ("case 20261234567, room 12345", "case [number], room 12345"),
    ("between 1951 and 2011, on 2026-11-02 or 02/11/2026, 175 states", None),
])
def test_masking(text, masked):
    assert mask(text) == (masked or text)


def test_the_period_is_in_the_configured_time_zone(tracker_db):
    period = Period.parse(FIRST_DAY, LAST_DAY, timezone.utc)
    in_utc = scan(store_url(f"sqlite:///{tracker_db}"), period, progress=None)
    # 00:20 in Brussels on the 2nd is the 1st in UTC; 00:10 on the 6th in Brussels is the 5th in UTC.
    assert in_utc.conversations == 11
    assert GENEVA[1] in [t.text for t in in_utc.turns if t.at.date() == date(2026, 11, 5)]
    assert "/greet" not in [t.text for t in in_utc.turns]


def test_a_progress_line_for_long_scans(tracker_db, monkeypatch):
    monkeypatch.setattr(conversations, "PAGE_SIZE", 20)
    progress = io.StringIO()
    result = scan(store_url(f"sqlite:///{tracker_db}"), Period.parse(FIRST_DAY, LAST_DAY, BRUSSELS), progress)
    lines = progress.getvalue().splitlines()
    assert lines[0] == "scanning the tracker store: 20 events, up to 2026-11-02"
    assert len(lines) == result.events // 20 and result.conversations == 11


def test_period_and_store_options():
    assert Period.parse(None, None, BRUSSELS, today=date(2026, 11, 30)).days()[0] == date(2026, 11, 1)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        Period.parse("2026-13-01", None, BRUSSELS)
    with pytest.raises(ValueError, match="after it ends"):
        Period.parse("2026-11-05", "2026-11-01", BRUSSELS)
    assert Settings().report_zone == BRUSSELS
    with pytest.raises(SettingError, match="REPORT_TIMEZONE='Mars/Olympus'"):
        assert Settings.from_env({"REPORT_TIMEZONE": "Mars/Olympus"}).report_zone
    config = Settings(pg_host="db.local", pg_port=5433, pg_user="iom", pg_db="iom", pg_password="s3cret!")
    url = store_url("postgresql", config)
    assert (url.host, url.port, url.database, url.password) == ("db.local", 5433, "iom", "s3cret!")
    assert "s3cret" not in conversations.describe(url)
    assert store_url("postgresql://me@h/db", config).password == "s3cret!"
    assert store_url(None, Settings(tracker_db=Path("/x/t.db"))).database == "/x/t.db"
    with pytest.raises(StoreError, match="not supported"):
        store_url("mysql://h/db", config)
    with pytest.raises(StoreError, match="no tracker store"):
        scan(store_url("sqlite:////nonexistent/t.db"), Period.parse(FIRST_DAY, LAST_DAY, BRUSSELS), None)


@pytest.mark.live
def test_the_page_in_headless_chromium(page, tmp_path):
    from playwright.sync_api import sync_playwright
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.on("request", lambda r: errors.append(f"request {r.url}") if not r.url.startswith("file:") else None)
            tab.goto(path.as_uri())
            for section in SECTIONS:
                box = tab.locator(f"section#{section}").bounding_box()
                assert box and box["height"] > 60, section
            assert tab.locator("section#activity figure svg").count() == 2
            assert tab.locator("section#unanswered tbody tr").count() == 7
            assert tab.evaluate("window.__xss === undefined && document.querySelectorAll('script').length === 1")
            tab.locator("#group-2 a").click()
            assert tab.evaluate("location.hash") == "#transcript-group-2"
            assert tab.locator("#transcript-group-2 li.asked").count() == 3
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            tab.goto(path.as_uri())
            tab.screenshot(path=str(LOG_DIR / "report.png"), full_page=True)
            tab.emulate_media(media="print")  # the print stylesheet applies without a script or console error
            assert tab.locator("nav").is_hidden()
        finally:
            browser.close()
    assert errors == []
