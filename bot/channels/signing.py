"""Keyed signatures (HMAC-SHA256) with the deployment's SECRET_KEY.

- Widget session ids are issued by the server and signed: `<32 hex random>.<16 hex signature>`. A socket
  can only resume a session whose id we issued, so guessing or copying a visitor's id from elsewhere (REST,
  Slack) does not give access to their conversation.
- Sender ids in logs are keyed hashes, not plain SHA-256: without the key, a guessable id (a Slack user id,
  "visitor-42") cannot be recovered from a log line by hashing candidates.
Each use derives its own key from SECRET_KEY, so a value from one can never pass as the other.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Optional

log = logging.getLogger(__name__)
SESSION_RANDOM_BYTES = 16
SESSION_SIGNATURE_CHARS = 16  # 64 bits of HMAC: forging one needs ~2^63 tries against a rate-limited server
LOG_HASH_CHARS = 12  # enough to follow one conversation in the logs


class Signer:
    def __init__(self, secret_key: Optional[str]) -> None:
        if not secret_key:
            log.warning("SECRET_KEY is not set: using a key for this process only (widget sessions will not "
                        "survive a restart, and log hashes differ between processes)")
            secret_key = secrets.token_hex(32)
        master = secret_key.encode("utf-8")
        self._session_key = hmac.new(master, b"widget-session-id", hashlib.sha256).digest()
        self._log_key = hmac.new(master, b"log-sender-hash", hashlib.sha256).digest()

    def _session_signature(self, random_part: str) -> str:
        return hmac.new(self._session_key, random_part.encode("ascii"), hashlib.sha256).hexdigest()[
            :SESSION_SIGNATURE_CHARS]

    def new_session_id(self) -> str:
        random_part = secrets.token_hex(SESSION_RANDOM_BYTES)
        return f"{random_part}.{self._session_signature(random_part)}"

    def is_session_id(self, value: object) -> bool:
        if not isinstance(value, str) or value.count(".") != 1:
            return False
        random_part, signature = value.split(".")
        if len(random_part) != 2 * SESSION_RANDOM_BYTES or not random_part.isascii() or not random_part.isalnum():
            return False
        return hmac.compare_digest(signature, self._session_signature(random_part))

    def log_hash(self, sender: str) -> str:
        data = sender.encode("utf-8", "surrogatepass")
        return hmac.new(self._log_key, data, hashlib.sha256).hexdigest()[:LOG_HASH_CHARS]
