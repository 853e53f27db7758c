"""Serves the demo page with the chat widget (rasa-webchat's UMD bundle from node_modules, no CDN)."""
from __future__ import annotations

import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "web" / "index.html"
WIDGET_BUNDLE = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"


class _Handler(SimpleHTTPRequestHandler):
    socket_url = ""

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            page = PAGE.read_text(encoding="utf-8").replace("__SOCKET_URL__", json.dumps(self.socket_url))
            return self._send(page.encode("utf-8"), "text/html; charset=utf-8")
        if path == "/webchat.js":
            return self._send(WIDGET_BUNDLE.read_bytes(), "application/javascript; charset=utf-8")
        self.send_error(404)

    def _send(self, body: bytes, content_type: str):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # quiet: the page is fetched on every load
        pass


def serve(host: str, port: int, socket_url: str) -> ThreadingHTTPServer:
    """Starts the page server in a daemon thread and returns it (call .shutdown() to stop)."""
    if not WIDGET_BUNDLE.exists():
        raise FileNotFoundError(f"{WIDGET_BUNDLE} is missing: run `make setup` (npm ci)")
    handler = type("Handler", (_Handler,), {"socket_url": socket_url})
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server
