"""`make run` / `make shell`: the action server and Rasa in the foreground, supervised.

Ctrl-C, SIGTERM and SIGHUP (the terminal closing, e.g. `tmux kill-session`) stop both, and the two
servers are told by the kernel to stop if this supervisor dies any other way (PR_SET_PDEATHSIG), so they
never linger holding their ports. If the action server dies it is logged and restarted; if Rasa dies the
action server is stopped and we exit non-zero (zero when the user quits `rasa shell`).
"""
from __future__ import annotations

import argparse
import ctypes
import logging
import signal
import sys
import time

from bot import servers
from bot.answers.content_store import ContentError, load_content
from bot.settings import SettingError, Settings

log = logging.getLogger("iom.run")
POLL_S = 0.5


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Runs in the child between fork and exec: the kernel sends it SIGTERM when this supervisor dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def banner(config: Settings) -> str:
    url = f"http://{config.public_host}:{config.rasa_port}/webhooks/rest/webhook"
    slack = ("enabled: point Slack's event and interactivity URLs at /webhooks/slack/webhook" if config.slack_enabled
             else "disabled (set SLACK_TOKEN and SLACK_SIGNING_SECRET to enable it)")
    return (f"\nThe IOM Brussels assistant is ready.\n"
            f"  REST:  curl -s {url} -H 'Content-Type: application/json' \\\n"
            f"           -d '{{\"sender\": \"me\", \"message\": \"When was the Brussels office established?\"}}'\n"
            f"  Web:   http://{config.public_host}:{config.web_port}/  (demo page with the chat widget)\n"
            f"  Slack: {slack}\n"
            f"  Shell: make shell\n  Stop:  Ctrl-C\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shell", action="store_true", help="run `rasa shell` instead of the server")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [run] %(message)s")
    try:
        env = servers.environment()
        config = Settings.from_env(env)
        load_content(config.content_dir)  # fail fast on broken content, naming the file and entry
    except (ContentError, SettingError) as exc:
        log.error("%s", exc)
        return 2
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    if not args.shell:
        signal.signal(signal.SIGINT, on_signal)
    else:  # rasa shell handles Ctrl-C itself; we only wait for it to exit
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    actions = servers.start(servers.action_server_command(env), env, preexec_fn=die_with_parent)
    servers.wait_http(servers.action_health_url(env), servers.ACTIONS_START_TIMEOUT_S, actions)
    log.info("action server up on %s:%s", config.bind, config.action_port)
    rasa = servers.start(servers.rasa_command(env, shell=args.shell), env, preexec_fn=die_with_parent)
    page = None if args.shell else servers.start_web(env)
    announced = args.shell
    code = 0
    try:
        while not stopping:
            if rasa.poll() is not None:
                code = rasa.returncode
                if code != 0:
                    log.error("Rasa exited with code %s; stopping the action server", code)
                break
            if actions.poll() is not None:
                log.error("action server exited with code %s; restarting it", actions.returncode)
                actions = servers.start(servers.action_server_command(env), env, preexec_fn=die_with_parent)
            if not announced:
                try:
                    servers.wait_http(servers.rasa_health_url(env), POLL_S, rasa)
                    print(banner(config), flush=True)
                    announced = True
                except (TimeoutError, RuntimeError):
                    pass
            time.sleep(POLL_S)
    finally:
        if page:
            page.shutdown()
        servers.stop(rasa)
        servers.stop(actions)
    if stopping:
        log.info("stopped")
        return 0
    if args.shell:
        return code
    return code or 1  # the server is never meant to exit by itself


if __name__ == "__main__":
    sys.exit(main())
