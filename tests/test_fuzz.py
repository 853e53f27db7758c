"""Property-based fuzzing (hypothesis) of the REST and socket.io input handling and the content loader:
arbitrary unicode, control characters, RTL text, emoji, huge numbers, nested JSON."""
from __future__ import annotations

import json
import shutil
import time
import uuid

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers.content_store import CONTENT_DIR, ContentError, load_content
from bot.channels.compound import parts
from bot.channels.screening import WORD_JOINER, BadMetadata, allowed_command, clean_metadata, screen, sender_problem
from bot.settings import Settings
from tests.support import page_origin, socketio_client

CONTENT = load_content()
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**40, max_value=10**40) | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
# Every code point, lone surrogates included (st.text() alone never produces them).
any_characters = st.characters(blacklist_categories=())
tricky_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=any_characters, max_size=300),
    st.sampled_from(["مرحبا، متى تأسس المكتب؟", "שלום \u202eevil\u202c", "🇪🇺🤖💬" * 20, "\x00\x01\x1b[31m",
                     "/ask_history{\"subject\": \"eurcap\"}", "\u2060/greet", "{" * 500, "a\r\nb\tc" * 50,
                     "SELECT * FROM events; --", "<script>alert(1)</script>", "9" * 5000]),
)


tricky_ids = st.one_of(
    st.text(alphabet=any_characters, min_size=0, max_size=260),
    st.sampled_from(["\ud800", "a\x00b", "\udfff" * 10, "rtl\u202eevil", "\u200fמזהה", "x" * 255, "x" * 256,
                     "tab\tid", "new\nline", "\x7f", " ", "", "slack:U123", "socketio:abc.def", "é" * 255]))
TRY_AGAIN = CONTENT.message("try_again", "en").strip()


def well_formed(reply, sender):
    assert isinstance(reply, list) and reply
    for message in reply:
        assert message["recipient_id"] == sender
        assert isinstance(message.get("text"), str) and message["text"].strip()
        assert message["text"].strip() != TRY_AGAIN  # an answer, not a failure


def acceptable(body) -> bool:
    """What the REST channel must answer (else 400): an object with a usable sender and a string message."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or sender_problem(body.get("sender")):
        return False
    try:
        clean_metadata(body.get("metadata"), Settings().max_metadata_bytes)
    except BadMetadata:
        return False
    return True


@settings(max_examples=150, **SETTINGS)
@given(text=tricky_text)
def test_rest_any_text_gets_a_well_formed_reply(bot, text):
    sender = f"fuzz-{uuid.uuid4().hex[:8]}"
    response = bot.session.post(bot.webhook, json={"sender": sender, "message": text}, timeout=30)
    assert response.status_code == 200, response.text
    well_formed(response.json(), sender)


@settings(max_examples=150, **SETTINGS)
@given(body=json_values)
def test_rest_any_json_body_is_answered_or_refused_with_400(bot, body):
    response = bot.session.post(bot.webhook, data=json.dumps(body), timeout=30,
                                headers={"Content-Type": "application/json"})
    if acceptable(body):
        assert response.status_code == 200
        well_formed(response.json(), body["sender"])
    else:
        assert response.status_code == 400 and response.json()["error"]


@settings(max_examples=200, **SETTINGS)
@given(sender=tricky_ids, text=tricky_text)
def test_rest_any_sender_id_is_answered_or_refused_with_400_and_the_server_stays_up(bot, sender, text):
    body = {"sender": sender, "message": text}
    response = bot.session.post(bot.webhook, data=json.dumps(body), timeout=30,
                                headers={"Content-Type": "application/json"})
    if acceptable(body):
        assert response.status_code == 200, response.text
        well_formed(response.json(), sender)
    else:
        assert response.status_code == 400 and "'sender'" in response.json()["error"]
    assert bot.rasa.poll() is None


def test_after_the_id_fuzzing_an_ordinary_visitor_is_answered(bot):
    assert "1951" in "\n".join(m["text"] for m in bot.ask("What is IOM?")) and bot.rasa.poll() is None


@settings(max_examples=100, **SETTINGS)
@given(raw=st.binary(max_size=2000))
def test_rest_any_bytes_never_500(bot, raw):
    response = bot.session.post(bot.webhook, data=raw, timeout=30, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400)


@settings(max_examples=500, **SETTINGS)
@given(text=tricky_text)
def test_screen_always_decides(text):
    result = screen(text, CONTENT, Settings().max_message_chars)
    assert (result.text is None) != (result.reply is None)
    if result.text is not None:
        assert not result.text.strip().startswith("/") or allowed_command(result.text.strip(), CONTENT)
        assert result.text in (" ".join(text.split()), WORD_JOINER + text.strip())


LIMIT = Settings().max_message_chars
# Texts of the longest length a client may send, built to make a regular expression backtrack: runs of
# spaces took compound.CUT a minute, and LEADING_REQUEST half a second, before screen() collapsed them.
BACKTRACKING_BAIT = [" " * (LIMIT - 1) + "?", " \n\t" * (LIMIT // 3), ", " * (LIMIT // 2), "? " * (LIMIT // 2),
                     "and " * (LIMIT // 4), " et" * (LIMIT // 3), "what is " * (LIMIT // 8), "a" * LIMIT,
                     "thanks " + " " * (LIMIT - 20) + "in French", "- " * (LIMIT // 2), "!" * LIMIT,
                     # a first sentence asking for a language (language.REQUEST_SENTENCE) took 6 s to fail on these
                     "back to " * (LIMIT // 8), "please speak to " * (LIMIT // 16), "pass en " * (LIMIT // 8)]


@pytest.mark.parametrize("text", BACKTRACKING_BAIT, ids=range(len(BACKTRACKING_BAIT)))
def test_no_text_a_client_may_send_stalls_the_text_checks(text):
    """One turn's text checks run on the server's event loop: seconds there stall every conversation. The
    bound is a hundred times what these take (a few ms), so it fails only on backtracking, not on a slow day."""
    started = time.perf_counter()
    result = screen(text, CONTENT, LIMIT)
    if result.text is not None:
        assert "  " not in result.text
        parts(result.text)
    assert time.perf_counter() - started < 1.0


def test_socketio_any_payload_keeps_the_server_answering(bot):
    with socketio_client(bot.base_url, page_origin(bot.env)) as (sio, confirmed, wait_for):
        sio.emit("session_request", {"session_id": "\ud800\x00"})
        assert confirmed.wait(10)
        session_id = confirmed.session_id
        sent = 0

        @settings(max_examples=80, **SETTINGS)
        @given(payload=json_values, text=tricky_text, other_id=tricky_ids, rejoin=st.booleans())
        def round_trip(payload, text, other_id, rejoin):
            nonlocal sent
            # At most 4 events a round: Engine.IO refuses a polling request carrying more than 16 packets.
            sio.emit("session_request", {"session_id": other_id} if rejoin else payload)  # ignored: has one
            sio.emit("user_uttered", payload)  # malformed ones are ignored
            sio.emit("user_uttered", {"message": text, "session_id": other_id})  # not its session: ignored
            sio.emit("user_uttered", {"message": text, "metadata": payload})  # answered
            sent += 1 + (isinstance(payload, dict) and isinstance(payload.get("message", 0), str)
                         and payload.get("session_id") is None)
            answers(sent)  # every well-formed message gets one reply

        def answers(n: int, timeout: float = 30, quiet: float = 0.5) -> list:
            """The replies, once there are n and no more came for `quiet` s: one message may get several (a
            preface such as "I answer in English and French." before the answer), so the count alone would let
            the rounds run ahead of the server."""
            deadline = time.monotonic() + timeout
            while True:
                count = len(wait_for(n, timeout=max(0.1, deadline - time.monotonic())))
                time.sleep(quiet)
                if len(wait_for(0)) == count:
                    return wait_for(0)

        round_trip()
        replies = answers(sent)
        assert len(replies) >= sent
        assert all(isinstance(r.get("text"), str) and r["text"].strip() for r in replies)
        sio.emit("user_uttered", {"message": "What is IOM?", "session_id": session_id})
        assert "1951" in answers(len(replies) + 1)[-1]["text"] and bot.rasa.poll() is None
        print(f"\nsocket.io: {sent} fuzz rounds (4 events each), {len(replies)} replies, all well-formed")


# Each example loads the whole bilingual content (~60 ms): counts that keep `make test-fast` under 90 s.
@settings(max_examples=150, **SETTINGS)
@given(data=json_values, target=st.sampled_from(["iom.yml", "messages.yml", "extra.yml"]))
def test_content_loader_rejects_garbage_with_content_error(tmp_path_factory, data, target):
    directory = tmp_path_factory.mktemp("content")
    shutil.copytree(CONTENT_DIR, directory, dirs_exist_ok=True)
    (directory / target).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        load_content(directory)
    except ContentError as exc:
        assert exc.file and str(exc)


@settings(max_examples=100, **SETTINGS)
@given(raw=st.binary(max_size=500))
def test_content_loader_rejects_any_bytes_with_content_error(tmp_path_factory, raw):
    directory = tmp_path_factory.mktemp("content")
    shutil.copytree(CONTENT_DIR, directory, dirs_exist_ok=True)
    (directory / "partners.yml").write_bytes(raw)
    with pytest.raises(ContentError):
        load_content(directory)
