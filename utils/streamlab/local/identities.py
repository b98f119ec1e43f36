"""The credentials the emulator issues to its owner, one key pair per kind of caller.

loopback is no access control (any web page and any local user can reach it), so
the emulator, like AWS, accepts only SigV4 signatures by keys it knows. On first
use it issues random keys and keeps them in the owner's private state folder
(``credentials.json``, mode 0600): whoever can read that file is the owner.

Three identities, so the emulator's action log tells apart what a participant's
notebook calls (the participant IAM policy) from what a function calls with its
execution role (functions get the ``function`` keys in their environment, as
Lambda hands a function its role's credentials), and from what the Lambda
service itself does (pollers, destinations), which needs no participant right.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..errors import EmulatorError
from . import paths

NOTEBOOK = "notebook"  # streamlab.connect(), `streamlab env`, the AWS CLI
FUNCTION = "function"  # code running in a local Lambda execution environment
SERVICE = "service"  # the emulator's own calls into itself (pollers, destinations)
IDENTITIES = (NOTEBOOK, FUNCTION, SERVICE)
# AWS's prefixes: long-term user keys start AKIA, temporary (role) keys ASIA.
_KEY_PREFIX = {NOTEBOOK: "AKIA", FUNCTION: "ASIA", SERVICE: "AKIA"}


@dataclass(frozen=True)
class KeyPair:
    """One access key id and its secret."""

    access_key: str
    secret_key: str


@dataclass(frozen=True)
class IssuedCredentials:
    """Every key pair the emulator accepts, by identity."""

    keys: dict[str, KeyPair]

    @property
    def notebook(self) -> KeyPair:
        return self.keys[NOTEBOOK]

    @property
    def function(self) -> KeyPair:
        return self.keys[FUNCTION]

    @property
    def service(self) -> KeyPair:
        return self.keys[SERVICE]

    def secret_for(self, access_key: str) -> str | None:
        """The secret of a key the emulator issued, or None for any other key."""
        for pair in self.keys.values():
            if secrets.compare_digest(pair.access_key, access_key):
                return pair.secret_key
        return None

    def identity_of(self, access_key: str) -> str | None:
        """``notebook``, ``function`` or ``service`` for an issued key, else None."""
        for identity, pair in self.keys.items():
            if pair.access_key == access_key:
                return identity
        return None


def _new_pair(identity: str) -> KeyPair:
    key_id = base64.b32encode(secrets.token_bytes(10)).decode()  # 16 characters A-Z2-7
    return KeyPair(_KEY_PREFIX[identity] + key_id, secrets.token_urlsafe(30))  # 40 characters


def _read(path: Path) -> IssuedCredentials:
    paths.make_private(path, paths.PRIVATE_FILE_MODE)
    data = json.loads(path.read_text())
    return IssuedCredentials(
        {
            identity: KeyPair(data[identity]["access_key"], data[identity]["secret_key"])
            for identity in IDENTITIES
        }
    )


def issued() -> IssuedCredentials:
    """This user's emulator credentials, issued on first use (safe when two processes race).

    The file is written under a temporary name with mode 0600 and then linked to its
    final name, which fails if another process got there first: readers never see a
    half-written file and every process ends up with the same keys.
    """
    path = paths.credentials_file()
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmulatorError(
            f"The emulator's credentials file {path} cannot be read ({exc}): stop the "
            "emulator (`streamlab stop`), delete the file, and start again."
        ) from None
    pairs = {identity: _new_pair(identity) for identity in IDENTITIES}
    text = json.dumps({name: pair.__dict__ for name, pair in pairs.items()}, indent=1)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, paths.PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read(path)
    finally:
        temporary.unlink(missing_ok=True)
    return IssuedCredentials(pairs)
