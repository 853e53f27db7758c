"""`make shell` through a pseudo-terminal: ask, see the answer and its buttons, quit cleanly."""
from __future__ import annotations

import sys

import pexpect

from bot import servers
from bot.settings import ROOT
from tests.support import LOG_DIR


def test_shell_answers_with_buttons_and_quits(bot_env, tmp_path):
    env = dict(bot_env, RASA_PORT=str(servers.free_port()), ACTION_PORT=str(servers.free_port()),
               TRACKER_DB=str(tmp_path / "tracker.db"), TERM="xterm", COLUMNS="120", LINES="40")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / "shell.log", "w")
    shell = pexpect.spawn(sys.executable, ["-m", "bot.run", "--shell"], cwd=str(ROOT), env=env,
                          encoding="utf-8", timeout=240, dimensions=(40, 120))
    shell.logfile_read = log
    try:
        shell.expect("Your input ->")
        shell.sendline("When was the Brussels office established?")
        shell.expect("September 2011", timeout=60)
        # rasa shell lists the follow-up buttons as choices
        shell.expect("Why was it set up then\\?", timeout=30)
        shell.expect("What does the Brussels office do\\?", timeout=30)
        shell.send("\x1b[B" * 2)  # arrow down to "Type out your own message..."
        shell.send("\r")
        shell.expect("Your input ->", timeout=30)
        shell.sendline("/stop")
        shell.expect(pexpect.EOF, timeout=60)
    finally:
        shell.close(force=True)
        log.close()
    assert shell.exitstatus == 0, (LOG_DIR / "shell.log").read_text()[-2000:]
