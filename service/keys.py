"""The service's one secret, and every key derived from it.

``KM_SECRET_KEY`` when set (required when several workers serve, since they must agree); otherwise a
random key kept in ``KM_DATA_DIR/secret.key`` (created once, readable by its owner only), so that sessions
and the markers of removed people survive a restart. Each use gets its own key, derived by HMAC.

>>> from service.settings import Settings
>>> s = Settings.from_env({"KM_SECRET_KEY": "geheim-en-lang-genoeg"})
>>> derive(s, "csrf") == derive(s, "csrf") != derive(s, "markers")
True
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from core.errors import ConfigError
from service.settings import Settings

KEY_FILE = "secret.key"
_lock = threading.Lock()


def secret_base(settings: Settings) -> bytes:
    """The secret itself: the setting, or the data folder's key file (made on first use)."""
    if settings.service.secret_key:
        return settings.service.secret_key.encode()
    path = Path(settings.store.data_dir) / KEY_FILE
    with _lock:
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_hex(32))
            return path.read_text("ascii").strip().encode()
        except FileExistsError:  # another process made it a moment ago
            return path.read_text("ascii").strip().encode()
        except OSError as exc:
            raise ConfigError(f"De geheime sleutel in {path.name} is niet te lezen of te maken ({exc.strerror}).",
                              hint="Zet KM_SECRET_KEY, of maak KM_DATA_DIR schrijfbaar.") from exc


def derive(settings: Settings, purpose: str) -> bytes:
    """A key for one purpose (``session``, ``csrf``, ``markers``, ``clients``, ``export-signature``)."""
    return hmac.new(secret_base(settings), f"kennismakelaar:{purpose}".encode(), hashlib.sha256).digest()
