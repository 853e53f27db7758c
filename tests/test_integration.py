"""The real action server + Rasa server: the held-out gates (issue 11), the development sets, context
follow-ups, persistence across a restart."""
from __future__ import annotations

import pytest

from bot import servers
from bot.answers.content_store import load_content
from tests.support import buttons, new_sender, start_servers, texts
from tools.evaluate import CASES_FILE, GATES, HELD_OUT_DIR, Report, evaluate

CONTENT = load_content()
DEV_SETS = [*sorted(CASES_FILE.parent.glob("dev_cases*.yml")),
            *sorted((CASES_FILE.parents[2] / "shared" / "eval").glob("*.yml"))]


@pytest.fixture(scope="module")
def held_out(bot) -> Report:
    report = evaluate(bot.base_url, sorted(HELD_OUT_DIR.glob("*.yml")))
    print("\nheld-out:\n" + report.render(misses=False))  # the wordings stay unread: categories only
    return report


# Gates the served bot does not meet yet, with the last measurement (issue 11's closing note). Expected to
# fail, and strict: a run that meets one of them fails until its line here is deleted, so a met gate is kept.
# Since 2026-12-03 the held-out set includes rounds 2 and 3 (tests/heldout/round2_*.yml, round3_*.yml).
NOT_MET = {"en": "90.2 % (339/376, rounds 1-3) on 2026-12-03, gate 95 %",
           "conversations en": "87.1 % (61/70) on 2026-12-03, gate 90 %",
           "conversations fr": "72.9 % (51/70) on 2026-12-03, gate 90 %"}


@pytest.mark.parametrize("category", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=NOT_MET[c]))
                                      if c in NOT_MET else c for c in sorted(GATES)])
def test_held_out_gate(held_out, category):
    """Questions written apart from the training data, through the served bot, fallback included."""
    assert held_out.score(category) >= GATES[category], held_out.render(misses=False)


@pytest.fixture(scope="module")
def development(bot) -> Report:
    report = evaluate(bot.base_url, DEV_SETS)
    print("\ndevelopment sets:\n" + report.render())
    return report


def test_every_gate_is_measured(held_out, development):
    """Outside the expected failures: a category gone from a set would otherwise 'fail as expected'."""
    assert set(GATES) <= set(held_out.by_category()) and set(GATES) <= set(development.by_category())


# The same for the development sets, since development set 11 (35 French and 30 English conversations written
# to find what conversations still miss) joined them on 2026-12-03.
DEV_NOT_MET = {"conversations en": "89.1 % (197/221, with development set 12) on 2026-12-03, gate 90 %",
               "conversations fr": "88.9 % (255/287, with development set 12) on 2026-12-03, gate 90 %"}


@pytest.mark.parametrize("category", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=DEV_NOT_MET[c]))
                                      if c in DEV_NOT_MET else c for c in sorted(GATES)])
def test_development_sets_meet_the_gates(development, category):
    assert development.score(category) >= GATES[category], development.render()


def test_context_conversation(bot):
    sender = new_sender()
    first = bot.ask("tell me about the Brussels office", sender)
    assert "liaison" in texts(first)
    assert texts(bot.ask("tell me more", sender)).strip() == CONTENT.entries["office_role"].more["en"].strip()
    assert "September 2011" in texts(bot.ask("when was it established?", sender))
    why = texts(bot.ask("why then?", sender))
    assert "Lisbon" in why and "enlargement" in why
    # Nothing more in the seed about that: say so and offer related topics instead of repeating.
    more = bot.ask("tell me more", sender)
    assert CONTENT.entries["office_context"].title["en"] in texts(more) and buttons(more)


def test_follow_up_buttons_are_listed_and_work(bot):
    sender = new_sender()
    reply = bot.ask("What centralized projects does the Brussels office host?", sender)
    offered = [b for b in buttons(reply) if not b["payload"].startswith("/feedback")]  # then 👍 / 👎
    assert 1 <= len(offered) <= 5 and len(buttons(reply)) == len(offered) + 2
    assert all(b["payload"] in CONTENT.payloads for b in offered)
    eurcap = next(b for b in offered if b["payload"] == CONTENT.entries["project_eurcap"].payload)
    assert "Readmission" in texts(bot.ask(eurcap["payload"], sender))


def test_question_the_seed_cannot_answer_invents_nothing(bot):
    for question in ["What is the phone number of the office?", "Who is the director in Brussels?",
                     "Can you help me with my asylum case?"]:
        reply = bot.ask(question)
        text = texts(reply)
        assert text and not any(ch.isdigit() for ch in text), (question, text)
        assert buttons(reply)


def test_conversation_survives_a_restart(bot_env, tmp_path):
    env = dict(bot_env, RASA_PORT=str(servers.free_port()), ACTION_PORT=str(servers.free_port()),
               TRACKER_DB=str(tmp_path / "tracker.db"))
    sender = new_sender()
    import requests
    url = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook"
    rasa, actions = start_servers(env, "restart")
    try:
        reply = requests.post(url, json={"sender": sender, "message": "What does the Brussels office do?"}, timeout=30)
        assert "liaison" in texts(reply.json())
    finally:
        servers.stop(rasa)
        servers.stop(actions)
    rasa, actions = start_servers(env, "restart")
    try:
        reply = requests.post(url, json={"sender": sender, "message": "tell me more"}, timeout=30)
        assert texts(reply.json()).strip() == CONTENT.entries["office_role"].more["en"].strip()
    finally:
        servers.stop(rasa)
        servers.stop(actions)


def test_two_questions_in_one_message_get_both_answers(bot):
    reply = texts(bot.ask("what is EURCAP and who are your partners?"))
    assert "Readmission" in reply and "Trade Unions" in reply
    reply = texts(bot.ask("quand la liaison avec l'UE a-t-elle été établie et pourquoi ?"))
    assert "2011" in reply and "Lisbonne" in reply


def test_staff_jargon_and_the_scope_of_the_office(bot):
    assert "175" in texts(bot.ask("how many MS does IOM have?"))
    assert "global level" in texts(bot.ask("does the Brussels office only work on Europe?"))
