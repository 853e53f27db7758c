"""Serves the demo page and the chat widget's files from our own origin (no CDN).

An allow-list: the page (`/`, `/index.html`), the widget (`web/widget/iom-chat.js`, `iom-chat.css`) and the one
vendor file it loads (socket.io-client's browser bundle, from node_modules as pinned by package-lock.json),
for GET and HEAD. Every other path is 404 and every other method 501: nothing else under the working
directory is ever served (`SimpleHTTPRequestHandler`, used before, answered `HEAD /.git/config`).

The page is sent with a strict Content-Security-Policy (scripts and styles from our origin or carrying the
response's nonce, connections only to the Rasa server): a second line of defence against injected HTML, and
the proof that the widget works on sites with such a policy.
"""
from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "web" / "index.html"
WIDGET_DIR = ROOT / "web" / "widget"
SOCKET_IO_BUNDLE = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
PAGE_PATHS = frozenset({"/", "/index.html"})
JS = "text/javascript; charset=utf-8"


@dataclass(frozen=True)
class Asset:
    file: Path
    content_type: str


# URL path -> file. The widget loads its stylesheet and socket.io from the folder its script came from.
ASSETS: Dict[str, Asset] = {
    "/widget/iom-chat.js": Asset(WIDGET_DIR / "iom-chat.js", JS),
    "/widget/iom-chat.css": Asset(WIDGET_DIR / "iom-chat.css", "text/css; charset=utf-8"),
    "/widget/socket.io.min.js": Asset(SOCKET_IO_BUNDLE, JS),
}


def content_security_policy(socket_url: str, nonce: str) -> str:
    """The page's policy: our scripts and styles (and the page's own, by nonce), sockets to Rasa only."""
    parts = urlsplit(socket_url)
    http_origin = f"{parts.scheme}://{parts.netloc}"
    ws_origin = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    return "; ".join([
        "default-src 'none'", f"script-src 'self' 'nonce-{nonce}'", f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:", f"connect-src 'self' {http_origin} {ws_origin}", "base-uri 'none'",
        "form-action 'none'", "frame-ancestors 'none'",
    ])


def render_page(socket_url: str, nonce: str) -> bytes:
    # The URL goes into an inline script as a JSON string; "<" escaped so it can never close the script.
    url = json.dumps(socket_url).replace("<", "\\u003c")
    page = PAGE.read_text(encoding="utf-8").replace("__SOCKET_URL__", url).replace("__NONCE__", nonce)
    return page.encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    socket_url = ""
    server_version = "iom-web"
    sys_version = ""

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def _respond(self, with_body: bool) -> None:
        # Decoded before the lookup, so "/%2e%2e/etc/passwd" is just another unknown path.
        path = unquote(urlsplit(self.path).path)
        headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}
        body: Optional[bytes] = None
        if path in PAGE_PATHS:
            nonce = secrets.token_urlsafe(16)
            body = render_page(self.socket_url, nonce)
            headers.update({"Content-Type": "text/html; charset=utf-8",
                            "Content-Security-Policy": content_security_policy(self.socket_url, nonce)})
        elif path in ASSETS:
            asset = ASSETS[path]
            body = asset.file.read_bytes()
            headers["Content-Type"] = asset.content_type
        if body is None:
            self.send_error(404)  # BaseHTTPRequestHandler sends no body for HEAD
            return
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format, *args):  # quiet: the page is fetched on every load
        pass


def serve(host: str, port: int, socket_url: str) -> ThreadingHTTPServer:
    """Starts the page server in a daemon thread and returns it (call .shutdown() to stop)."""
    missing = [str(asset.file) for asset in ASSETS.values() if not asset.file.exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} missing: run `make setup` (npm ci)")
    handler = type("Handler", (_Handler,), {"socket_url": socket_url})
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server
