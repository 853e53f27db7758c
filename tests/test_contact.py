"""Contact details (intent ask_contact, settings CONTACT_EMAIL / CONTACT_URL): the live bot gives exactly the
configured ones, or says it has none, and never invents one; invalid values stop every entry point at
start-up with a message naming the setting.

One Rasa server for the module; the action server (which reads the contact settings) is restarted for
each configuration.
"""
from __future__ import annotations

import re
import subprocess
import sys
from typing import Dict, Iterator, Optional

import pytest
import requests

from bot import servers
from bot.answers.content_store import load_content
from bot.settings import ROOT, SettingError, Settings, process_environment
from tests.support import LOG_DIR, buttons, new_sender, start_servers, texts

CONTENT = load_content()
EMAIL, URL = "brussels-office@example.org", "https://example.org/contact-us"
# Questions the NLU takes for ask_contact, in English and French.
QUESTIONS = [("how can I contact the office?", "en"), ("Can I speak to a human?", "en"),
             ("Comment puis-je contacter le bureau ?", "fr")]
ANY_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ANY_URL = re.compile(r"https?://[^\s>)\]]+|www\.[^\s>)\]]+")


@pytest.fixture(scope="module")
def own_bot(bot_env, tmp_path_factory) -> Iterator[Dict]:
    env = dict(bot_env, RASA_PORT=str(servers.free_port()), ACTION_PORT=str(servers.free_port()),
               TRACKER_DB=str(tmp_path_factory.mktemp("contact") / "tracker.db"))
    rasa, actions = start_servers(env, "contact")
    state = {"env": env, "rasa": rasa, "actions": actions}
    yield state
    servers.stop(state["rasa"])
    servers.stop(state["actions"])


def with_contact(state: Dict, email: Optional[str], url: Optional[str]) -> None:
    """Restarts the action server with these contact settings."""
    servers.stop(state["actions"])
    env = {k: v for k, v in state["env"].items() if k not in ("CONTACT_EMAIL", "CONTACT_URL")}
    env.update({"CONTACT_EMAIL": email} if email else {})
    env.update({"CONTACT_URL": url} if url else {})
    log = open(LOG_DIR / "contact.log", "ab")
    state["actions"] = servers.start(servers.action_server_command(env), env, stdout=log, stderr=subprocess.STDOUT)
    servers.wait_http(servers.action_health_url(env), servers.ACTIONS_START_TIMEOUT_S, state["actions"])


def ask(state: Dict, text: str, sender: Optional[str] = None):
    url = f"http://127.0.0.1:{state['env']['RASA_PORT']}/webhooks/rest/webhook"
    response = requests.post(url, json={"sender": sender or new_sender(), "message": text}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def expected_route(email: Optional[str], url: Optional[str], language: str) -> str:
    routes = ([f"[{email}](mailto:{email})"] if email else []) + ([f"<{url}>"] if url else [])
    return f" {CONTENT.message('or', language)} ".join(routes)


CONFIGURATIONS = {"neither": (None, None), "e-mail": (EMAIL, None), "page": (None, URL), "both": (EMAIL, URL)}


@pytest.mark.parametrize("email,url", CONFIGURATIONS.values(), ids=CONFIGURATIONS.keys())
def test_the_bot_gives_exactly_the_configured_contact_details(own_bot, email, url):
    with_contact(own_bot, email, url)
    for question, language in QUESTIONS:
        reply = ask(own_bot, question)
        text = texts(reply).strip()
        if email or url:
            assert text == CONTENT.message("contact", language, route=expected_route(email, url, language)).strip()
            assert not buttons(reply)
        else:  # says it has none, offers what it can answer, and invents nothing
            assert text == CONTENT.message("contact_none", language).strip()
            assert buttons(reply) == CONTENT.buttons(CONTENT.menu, language)
        assert set(ANY_EMAIL.findall(text)) == ({email} if email else set()), text
        assert set(ANY_URL.findall(text)) == ({url} if url else set()), text
        assert "mailto:" not in text or email


# ---------------------------------------------------------------------------------------------- start-up

BAD = {"http URL": ("CONTACT_URL", "http://example.org/contact"), "no host": ("CONTACT_URL", "https://"),
       "not a URL": ("CONTACT_URL", "example.org/contact"), "javascript": ("CONTACT_URL", "javascript:alert(1)"),
       "space in URL": ("CONTACT_URL", "https://example.org/a b"),
       "not an e-mail": ("CONTACT_EMAIL", "brussels office"), "no domain": ("CONTACT_EMAIL", "office@localhost"),
       "two addresses": ("CONTACT_EMAIL", "a@example.org b@example.org"),
       "markup": ("CONTACT_EMAIL", "<a@example.org>")}


@pytest.mark.parametrize("name,value", BAD.values(), ids=BAD.keys())
def test_an_invalid_contact_setting_is_refused_naming_it(name, value):
    with pytest.raises(SettingError) as refused:
        Settings.from_env({name: value})
    assert str(refused.value).startswith(f"{name}={value!r}: ")


def test_valid_contact_settings_are_accepted():
    config = Settings.from_env({"CONTACT_EMAIL": "brussels@iom.int", "CONTACT_URL": "https://www.iom.int/contact"})
    assert (config.contact_email, config.contact_url) == ("brussels@iom.int", "https://www.iom.int/contact")


def start_up(command, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**process_environment(), **servers.QUIET, "PYTHONPATH": str(ROOT),
                               "RASA_PORT": str(servers.free_port()), "ACTION_PORT": str(servers.free_port()),
                               "WEB_PORT": str(servers.free_port()), **env})


def test_make_run_refuses_to_start_with_one_line_naming_the_setting():
    done = start_up([sys.executable, "-m", "bot.run"], CONTACT_URL="http://example.org/contact")
    assert done.returncode == 2
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "is ready" not in output
    assert output.strip().endswith("CONTACT_URL='http://example.org/contact': must be an https:// address with a "
                                   "host")


@pytest.mark.live  # starts (tries to start) the Rasa process and the action server
def test_the_rasa_and_action_server_processes_refuse_to_start_naming_the_setting(bot_env):
    rasa = start_up(servers.rasa_command({**bot_env, "RASA_PORT": str(servers.free_port())}),
                    CONTACT_EMAIL="not-an-email")
    assert rasa.returncode != 0
    assert "Traceback" not in rasa.stderr  # one line (after the libraries' import-time warnings)
    assert rasa.stderr.strip().splitlines()[-1] == "bot.server: CONTACT_EMAIL='not-an-email': not an e-mail address"
    actions = start_up(servers.action_server_command({"ACTION_PORT": str(servers.free_port())}),
                       CONTACT_URL="http://example.org/contact")
    assert actions.returncode != 0
    assert ("SettingError: CONTACT_URL='http://example.org/contact': must be an https:// address with a host"
            in actions.stderr.strip().splitlines()[-1])
