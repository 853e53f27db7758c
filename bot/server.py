"""The Rasa process of the assistant: Rasa's own command line, with bot/rasa_patches.py installed first.

    python -m bot.server run --model models/iom.tar.gz --credentials credentials.yml ...
    python -m bot.server shell --model models/iom.tar.gz

Everything after `bot.server` is passed to Rasa's CLI unchanged. `make run`, `make shell`, the tests, the
benchmark and the container image all start Rasa this way, so the patches are applied on purpose, once,
before Rasa loads the model, and a Rasa version they were not written for stops the start-up.
"""
from __future__ import annotations

import sys

from bot import rasa_patches
from bot.settings import settings


def main() -> None:
    rasa_patches.install(action_timeout=settings().action_timeout)
    from rasa.__main__ import main as rasa_main
    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
