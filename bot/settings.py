"""Every setting of the assistant, and the one module that reads the environment.

Each setting is a field of `Settings`: its environment variable is the field name in capitals (or
`env=` when it differs), with a type, a default and one line of meaning. `settings()` reads the process
environment once; `Settings.from_env(mapping)` reads any mapping (tests, child processes). A malformed
value fails at start-up with `SettingError` naming the variable. The README's configuration tables are
generated from here (`python -m bot.settings --write README.md`) and a test keeps them in sync.

Some variables are read by Rasa itself rather than by our code (it substitutes `${VAR}` in endpoints*.yml,
and reads `SQL_POOL_SIZE`, `SQL_MAX_OVERFLOW`, `SANIC_WORKERS`); they are listed here so that every
variable has one documented default, and `bot.servers` passes them all to the processes it starts.
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, get_type_hints
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "bot" / "content"  # the content store shipped with the assistant
LOOPBACK = "127.0.0.1"
LOOPBACK_HOSTS = (LOOPBACK, "localhost", "::1")
EMAIL = re.compile(r"[^@\s<>()\[\]]+@[^@\s<>()\[\]]+\.[A-Za-z]{2,}")
WILDCARD_ADDRESSES = ("0.0.0.0", "::")


class SettingError(ValueError):
    """An environment variable holds a value of the wrong type."""


def _setting(default: Any, meaning: str, group: str = "server", env: Optional[str] = None,
             secret: bool = False, shown_default: Optional[str] = None) -> Any:
    return field(default=default, metadata={"meaning": meaning, "group": group, "env": env, "secret": secret,
                                            "shown_default": shown_default})


@dataclass(frozen=True)
class Settings:
    # --- the servers (make run)
    rasa_port: int = _setting(5005, "Rasa server: REST at `/webhooks/rest/webhook`, socket.io, Slack")
    action_port: int = _setting(5055, "action server (private: only Rasa talks to it)")
    bind: str = _setting(LOOPBACK, "address both servers listen on")
    action_host: Optional[str] = _setting(None, "where Rasa reaches the action server",
                                          shown_default="loopback, or `BIND` when it is one specific address")
    web_port: int = _setting(8080, "demo page with the chat widget")
    tracker_db: Path = _setting(ROOT / "var" / "tracker.db", "SQLite file holding conversations (kept across "
                                "restarts)", shown_default="`var/tracker.db`")
    model: Path = _setting(ROOT / "models" / "iom.tar.gz", "trained model", shown_default="`models/iom.tar.gz`")
    endpoints: str = _setting("endpoints.yml", "Rasa endpoints file (`endpoints.scale.yml` in the scale profile)")
    secret_key: Optional[str] = _setting(None, "signs the widget's session ids and keys the sender hashes in logs; "
                                         "the same on every replica", secret=True,
                                         shown_default="generated once into `var/secret_key` (mode 600)")
    contact_email: Optional[str] = _setting(None, "the e-mail address the assistant gives to visitors who want to "
                                            "reach the office", shown_default="unset: it says it has no contact "
                                            "details")
    contact_url: Optional[str] = _setting(None, "a contact page (https) the assistant gives to visitors who want to "
                                          "reach the office")
    retention_days: int = _setting(90, "conversations older than this are deleted daily by the server and by "
                                   "`make purge` (0: kept)")
    content_dir: Path = _setting(CONTENT_DIR, "the content store's directory (answers, messages, "
                                 "seed)", env="IOM_CONTENT_DIR", shown_default="`bot/content`")
    # --- turns
    max_message_chars: int = _setting(2000, "longer messages get a polite \"too long\" reply without NLU",
                                      group="turns")
    action_timeout: float = _setting(6.0, "seconds Rasa waits for the action server (Rasa's own default: 300)",
                                     group="turns")
    turn_timeout: float = _setting(9.0, "seconds a whole turn may take before the visitor gets \"try again\"",
                                   group="turns")
    encoder_threads: int = _setting(1, "threads of the sentence encoder (one leaves the other cores to the rest of "
                                    "Rasa and the action server)", group="turns")
    # --- limits (what a client sees when it hits one: README "Operations")
    max_request_bytes: int = _setting(65536, "HTTP request bodies larger than this get 413 (Rasa's default: 100 MB)",
                                      group="limits")
    max_metadata_bytes: int = _setting(1024, "client `metadata` (only `language` and `page` are kept) larger than "
                                       "this gets 400", group="limits")
    client_messages_per_minute: int = _setting(30, "messages one client address may send per minute, in bursts of "
                                               "a quarter of it (0: no limit)", group="limits")
    conversation_messages_per_minute: int = _setting(20, "messages one conversation may receive per minute "
                                                     "(0: no limit)", group="limits")
    max_queued_turns: int = _setting(3, "turns of one conversation waiting or running at once in a process; "
                                     "more get 429", group="limits")
    client_connections: int = _setting(20, "open connections one client address may hold at the nginx entry point "
                                       "of the scale profile (0: no limit)", group="limits")
    proxies_count: int = _setting(0, "reverse proxies in front of Rasa whose X-Forwarded-For is trusted for the "
                                  "client address (1 behind nginx)", group="limits")
    # --- channels
    web_origins: Tuple[str, ...] = _setting((), "origins allowed to open a socket.io connection (comma-separated)",
                                            group="channels", shown_default="the demo page's origin")
    slack_token: Optional[str] = _setting(None, "Slack bot token (`xoxb-…`); with the signing secret, enables "
                                          "Slack", group="channels", secret=True)
    slack_signing_secret: Optional[str] = _setting(None, "Slack signing secret", group="channels", secret=True)
    slack_channel: Optional[str] = _setting(None, "a Slack channel id where the bot answers every message, not "
                                            "only mentions", group="channels")
    slack_api_url: str = _setting("https://slack.com/api/", "Slack Web API base URL (e.g. a proxy)",
                                  group="channels")
    slack_escalation_channel: Optional[str] = _setting(None, "a Slack channel id where staff can pass on a question "
                                                       "the assistant could not answer", group="channels")
    rasa_jwt_secret: Optional[str] = _setting(None, "enables Rasa's HTTP API, requiring an HS256 JWT signed "
                                              "with it", group="channels", secret=True)
    rasa_api_token: Optional[str] = _setting(None, "enables Rasa's HTTP API with a token in the query string "
                                             "(prefer `RASA_JWT_SECRET`)", group="channels", secret=True)
    # --- the scale profile (make scale-up, endpoints.scale.yml, deploy/)
    pg_host: str = _setting(LOOPBACK, "PostgreSQL host", group="scale")
    pg_port: int = _setting(55432, "PostgreSQL port (`make scale-up` starts its own, data in `var/scale/`)",
                            group="scale")
    pg_db: str = _setting("iom", "PostgreSQL database", group="scale")
    pg_user: str = _setting("iom", "PostgreSQL user", group="scale")
    pg_password: Optional[str] = _setting(None, "PostgreSQL password", group="scale", secret=True,
                                          shown_default="generated, in `var/scale/secrets.json` (mode 600)")
    pg_max_connections: int = _setting(100, "the PostgreSQL server's connection limit (`make scale-up` checks the "
                                       "pools fit)", group="scale")
    sql_pool_size: int = _setting(4, "PostgreSQL connections kept per Rasa process (read by Rasa)", group="scale")
    sql_max_overflow: int = _setting(4, "extra PostgreSQL connections per Rasa process under bursts (read by Rasa)",
                                     group="scale")
    sanic_workers: int = _setting(1, "Sanic workers per Rasa replica (read by Rasa; allowed with the shared lock "
                                  "store)", group="scale")
    redis_host: Optional[str] = _setting(None, "Redis host: the lock store, and Slack retries de-duplicated across "
                                         "replicas", group="scale", shown_default="unset (no Redis)")
    redis_port: int = _setting(56379, "Redis port", group="scale")
    redis_password: Optional[str] = _setting(None, "Redis password", group="scale", secret=True,
                                             shown_default="generated, in `var/scale/secrets.json` (mode 600)")
    redis_db: int = _setting(1, "Redis database number for the lock store and Slack event ids", group="scale")
    lb_port: int = _setting(5080, "nginx, the public entry point (REST, Slack, socket.io)", group="scale")
    actions_lb_port: int = _setting(5081, "nginx in front of the action servers (private)", group="scale")
    rasa_replica_base_port: int = _setting(5101, "Rasa replica *i* listens on this + *i*", group="scale")
    action_replica_base_port: int = _setting(5151, "action server *i* listens on this + *i*", group="scale")
    # --- improving the answers (make report, make review)
    report_timezone: str = _setting("Europe/Brussels", "time zone of the days in `make report` and `make review` "
                                    "(`FROM`/`TO`, the charts) and of the timestamps in a turn log", group="tools")

    def __post_init__(self) -> None:
        url = urlparse(self.slack_api_url)
        if not (url.scheme == "https" or (url.scheme == "http" and url.hostname in LOOPBACK_HOSTS)):
            raise SettingError(f"SLACK_API_URL={self.slack_api_url!r}: must be https:// (or http:// on loopback), "
                               "or the bot token would travel in clear")
        contact = urlparse(self.contact_url or "")
        if self.contact_url and (contact.scheme != "https" or not contact.hostname
                                 or re.search(r"[\s<>]", self.contact_url)):  # given to visitors as <url>
            raise SettingError(f"CONTACT_URL={self.contact_url!r}: must be an https:// address with a host")
        if self.contact_email and not EMAIL.fullmatch(self.contact_email):
            raise SettingError(f"CONTACT_EMAIL={self.contact_email!r}: not an e-mail address")

    # ------------------------------------------------------------------------------------------ reading
    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        hints = get_type_hints(cls)
        values: Dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(env_name(f))
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _cast(hints[f.name], raw)
            except ValueError:
                raise SettingError(f"{env_name(f)}={raw!r}: expected {_type_name(hints[f.name])}") from None
        return cls(**values)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------------------------------ derived
    @property
    def action_address(self) -> str:
        """Where Rasa reaches the action server: loopback unless it is bound to one specific address."""
        if self.action_host:
            return self.action_host
        return LOOPBACK if self.bind in (LOOPBACK, *WILDCARD_ADDRESSES) else self.bind

    @property
    def public_host(self) -> str:
        """The host a browser on this machine uses to reach our servers."""
        return LOOPBACK if self.bind in WILDCARD_ADDRESSES else self.bind

    @property
    def allowed_origins(self) -> Tuple[str, ...]:
        if self.web_origins:
            return self.web_origins
        return (f"http://127.0.0.1:{self.web_port}", f"http://localhost:{self.web_port}")

    @property
    def report_zone(self) -> tzinfo:
        """REPORT_TIMEZONE as a time zone, checked when a tool needs it (the servers never do)."""
        try:
            return ZoneInfo(self.report_timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise SettingError(f"REPORT_TIMEZONE={self.report_timezone!r}: not a time zone name (e.g. Europe/Brussels, "
                               "UTC)") from None

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_token and self.slack_signing_secret)

    def as_environ(self) -> Dict[str, str]:
        """Every setting as an environment variable, for the processes we start (Rasa reads some itself)."""
        rendered = {env_name(f): _render(getattr(self, f.name)) for f in dataclasses.fields(self)}
        rendered["ACTION_HOST"] = self.action_address
        return {k: v for k, v in rendered.items() if v is not None}


def env_name(f: "dataclasses.Field[Any]") -> str:
    return f.metadata.get("env") or f.name.upper()


def _cast(kind: Any, raw: str) -> Any:
    if kind in (int, float, str, Path):
        return kind(raw.strip() if kind is not str else raw)
    if kind == Optional[str]:
        return raw
    if kind == Tuple[str, ...]:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    raise TypeError(f"no rule to read a setting of type {kind}")  # a programming error in this module


def _type_name(kind: Any) -> str:
    return {int: "an integer", float: "a number", Path: "a path"}.get(kind, "text")


def _render(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process, read from its environment once."""
    return Settings.from_env(os.environ)


def process_environment() -> Dict[str, str]:
    """A copy of this process's environment, the base for the environment of a child process."""
    return dict(os.environ)


def set_process_environment(name: str, value: str) -> None:
    """For libraries configured only through the environment (OpenMP), before they load."""
    os.environ[name] = value


# ---------------------------------------------------------------------------------------------- docs
GROUP_TITLES = {"server": "Servers", "turns": "Turns", "limits": "Limits", "channels": "Channels",
                "scale": "Scale profile", "tools": "Report and review"}


def markdown_tables() -> str:
    """The README's configuration tables, one per group."""
    defaults = Settings()
    out = []
    for group, title in GROUP_TITLES.items():
        out += [f"**{title}**", "", "| variable | default | meaning |", "|---|---|---|"]
        for f in dataclasses.fields(Settings):
            if f.metadata["group"] != group:
                continue
            shown = f.metadata["shown_default"]
            if shown is None:
                value = _render(getattr(defaults, f.name))
                shown = f"`{value}`" if value else "unset"
            out.append(f"| `{env_name(f)}` | {shown} | {f.metadata['meaning']} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_readme_tables(readme: Path) -> None:
    """Replaces the tables in README.md's Configuration section (between its first table title and the text
    after the last table) with the current ones."""
    text = readme.read_text(encoding="utf-8")
    titles = [f"**{title}**\n" for title in GROUP_TITLES.values()]
    start = text.index(titles[0])
    last = text.index(titles[-1], start)
    end = text.index("\n\n", text.index("|---|", last)) + 2  # the blank line that ends the last table
    readme.write_text(text[:start] + markdown_tables() + "\n" + text[end:], encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        write_readme_tables(Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "README.md")
    else:
        sys.stdout.write(markdown_tables())
