"""The Rasa process of the assistant: Rasa's own command line, with bot/rasa_patches.py installed first.

    python -m bot.server run --model models/iom.tar.gz --credentials credentials.yml ...
    python -m bot.server shell --model models/iom.tar.gz

Everything after `bot.server` is passed to Rasa's CLI, plus the HTTP API's secret when one is configured
(`RASA_JWT_SECRET` or `RASA_API_TOKEN`): added here, inside the process, it never shows in `ps`. `make run`,
`make shell`, the tests, the benchmark and the container image all start Rasa this way, so the patches are
applied on purpose, once, before Rasa loads the model, and a Rasa version they were not written for stops
the start-up.
"""
from __future__ import annotations

import sys
from typing import List

from bot import rasa_patches
from bot.settings import SettingError, Settings, settings


def api_options(config: Settings) -> List[str]:
    """Rasa's HTTP API stays off unless an operator sets a secret for it. JWT (sent as an `Authorization:
    Bearer` header) is preferred; the token works too but travels in the query string."""
    if config.rasa_jwt_secret:
        return ["--enable-api", "--jwt-secret", config.rasa_jwt_secret, "--jwt-method", "HS256"]
    if config.rasa_api_token:
        return ["--enable-api", "--auth-token", config.rasa_api_token]
    return []


def main() -> None:
    try:
        config = settings()
    except SettingError as exc:  # one line naming the variable, not a traceback
        sys.exit(f"bot.server: {exc}")
    rasa_patches.install(config)
    from rasa.__main__ import main as rasa_main
    command = sys.argv[1:]
    sys.argv = ["rasa", *command, *(api_options(config) if command[:1] == ["run"] else [])]
    rasa_main()


if __name__ == "__main__":
    main()
