"""Secrets the store must keep readable (the dashboards' TOTP secrets: checking a code needs the secret itself),
encrypted at rest with Fernet (AES-128-CBC with an HMAC-SHA256), so that a copy of the store or of a backup opens
no second factor without the key.

The key is `ANALYTICBOT_DASHBOARDS_SECRET_KEY` if set (checked by `analyticbot.settings`); otherwise one generated
on first use and kept in `<data_dir>/secrets/dashboards.key` (directory 0700, file 0600), reused afterwards. Keep
that file with the data dir but out of its backups, or set the variable from a secret store: a store restored
without its key cannot check any second factor until each account is reset (`make admin-user ... RESET=1`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from analyticbot.settings import ConfigError, Settings


class SecretUnreadable(ValueError):
    """A stored value is not a token of this key: the key changed, or the value was damaged."""


def key_file(settings: Settings) -> Path:
    return settings.data_dir / "secrets" / "dashboards.key"


def is_encrypted(stored: str) -> bool:
    """Whether a stored value is a Fernet token rather than a secret stored in plain text before encryption. A token
    starts with its version byte 0x80, "g" in urlsafe base64; base32 (A-Z, 2-7), what the TOTP secrets were stored
    as, never does."""
    return stored.startswith("g")


class SecretBox:
    def __init__(self, key: bytes | str):
        self._fernet = Fernet(key)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):  # InvalidToken also covers a token that is not base64 at all
            raise SecretUnreadable("not a token of this key") from None


def dashboards_box(settings: Settings) -> SecretBox:
    """The box of the dashboards' secrets: the configured key, else the key file (made on first use)."""
    return SecretBox(settings.dashboards_secret_key or _kept_key(key_file(settings)))


def _kept_key(path: Path) -> bytes:
    if not path.exists():
        _write_new_key(path)
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(f"{path} is not a Fernet key; restore it from where the data dir is kept (moving it "
                          "away makes a new key, and every account then needs `make admin-user ... RESET=1`)") from None
    return key


def _write_new_key(path: Path) -> None:
    """Writes a fresh key where none is, atomically: the key goes to a private temporary file that is then
    hard-linked into place, which fails if another process linked its own key first; that one is kept, so two
    processes starting at once end up with one key, and nobody ever reads half a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(Fernet.generate_key() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)  # as above: the umask may have taken bits of 0600, never added any
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
