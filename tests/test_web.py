"""The demo page server (bot/web.py) on its own, no Rasa: it serves the page and the widget's files, for GET
and HEAD, and nothing else (issue 14, row 10: `HEAD /.git/config` used to answer 200 with the file's size)."""
from __future__ import annotations

import http.client

import pytest

from bot import servers, web
from bot.settings import ROOT

SOCKET_URL = "http://127.0.0.1:5005"
SERVED = ["/", "/index.html", "/?utm=x", "/widget/iom-chat.js", "/widget/iom-chat.css", "/widget/socket.io.min.js"]
NOT_SERVED = ["/.git/config", "/README.md", "/../etc/passwd", "/%2e%2e/etc/passwd", "//etc/passwd", "/etc/passwd",
              "/web/index.html", "/web/widget/iom-chat.js", "/widget/", "/widget/../README.md", "/bot/web.py",
              "/node_modules/axe-core/axe.min.js", "/widget/socket.io.min.js.map", "/webchat.js", "/var/tracker.db",
              "/.venv/pyvenv.cfg", "/index.html/"]


@pytest.fixture(scope="module")
def port():
    port = servers.free_port()
    server = web.serve("127.0.0.1", port, SOCKET_URL)
    yield port
    server.shutdown()
    server.server_close()


def fetch(port: int, method: str, path: str):
    """The raw request, path sent exactly as given (no client-side normalisation of `..`)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", NOT_SERVED)
def test_everything_but_the_page_and_the_widget_is_404(port, method, path):
    status, headers, body = fetch(port, method, path)
    assert status == 404
    assert b"[core]" not in body and b"root:" not in body and b"IOM" not in body
    if method == "HEAD":
        assert body == b""


def test_head_of_git_config_does_not_reveal_the_file(port):
    git = ROOT / ".git"
    status, headers, _ = fetch(port, "HEAD", "/.git/config")
    assert status == 404
    if git.is_dir():
        assert headers.get("Content-Length") != str((git / "config").stat().st_size)


@pytest.mark.parametrize("path", SERVED)
def test_page_and_widget_files_answer_get_and_head_alike(port, path):
    status, headers, body = fetch(port, "GET", path)
    head_status, head_headers, head_body = fetch(port, "HEAD", path)
    assert status == head_status == 200
    assert head_body == b"" and body
    assert headers["Content-Type"] == head_headers["Content-Type"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    if not path.startswith("/?") and path not in ("/", "/index.html"):
        assert headers["Content-Length"] == head_headers["Content-Length"] == str(len(body))


def test_the_page_loads_the_widget_from_our_origin_under_a_strict_policy(port):
    status, headers, body = fetch(port, "GET", "/")
    page = body.decode()
    policy = headers["Content-Security-Policy"]
    nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    assert '<script src="/widget/iom-chat.js"></script>' in page
    assert f'<script nonce="{nonce}">' in page and f'socketUrl: "{SOCKET_URL}"' in page
    assert "default-src 'none'" in policy and f"connect-src 'self' {SOCKET_URL} ws://127.0.0.1:5005" in policy
    assert "unsafe-inline" not in policy and "__" not in page  # every placeholder filled
    assert fetch(port, "GET", "/")[1]["Content-Security-Policy"] != policy  # a new nonce per response


def test_socket_url_cannot_close_the_inline_script():
    page = web.render_page('http://x/</script><script>alert(1)</script>', "n").decode()
    assert "</script><script>alert(1)" not in page and "\\u003c/script>" in page


def test_other_methods_are_refused(port):
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        assert fetch(port, method, "/")[0] == 501
