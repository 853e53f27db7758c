"""bot/settings.py: typed, documented, the only reader of the environment, and the README's tables."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bot.settings import ROOT, SettingError, Settings, env_name, markdown_tables


def test_typed_values_and_defaults():
    config = Settings.from_env({"RASA_PORT": "6000", "TURN_TIMEOUT": "2.5", "WEB_ORIGINS": "https://a.org, https://b.org",
                                "IOM_CONTENT_DIR": "/tmp/content", "SLACK_TOKEN": ""})
    assert config.rasa_port == 6000 and config.turn_timeout == 2.5
    assert config.web_origins == ("https://a.org", "https://b.org")
    assert config.content_dir == Path("/tmp/content") and config.slack_token is None
    assert config.max_message_chars == 2000 and not config.slack_enabled


@pytest.mark.parametrize("name,value", [("RASA_PORT", "fifty"), ("TURN_TIMEOUT", "soon")])
def test_a_malformed_value_names_the_variable(name, value):
    with pytest.raises(SettingError, match=name):
        Settings.from_env({name: value})


def test_derived_values():
    assert Settings(bind="0.0.0.0").action_address == "127.0.0.1"
    assert Settings(bind="10.0.0.5").action_address == "10.0.0.5"
    assert Settings(web_port=9000).allowed_origins == ("http://127.0.0.1:9000", "http://localhost:9000")
    env = Settings(web_origins=("https://x.org",), turn_timeout=9.0).as_environ()
    assert env["WEB_ORIGINS"] == "https://x.org" and env["TURN_TIMEOUT"] == "9" and "SLACK_TOKEN" not in env


def test_every_setting_is_documented():
    for f in dataclasses.fields(Settings):
        assert f.metadata["meaning"] and f.metadata["group"], env_name(f)


def test_readme_configuration_tables_match_the_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_tables() in readme, "regenerate the README's tables: python -m bot.settings --write README.md"


def test_no_other_module_reads_the_environment():
    readers = []
    for path in sorted(p for folder in ("bot", "actions", "tools") for p in (ROOT / folder).rglob("*.py")):
        if path.name == "settings.py" and path.parent.name == "bot":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bos\.environ\b|\bos\.getenv\b|\bgetenv\(", text):
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []
