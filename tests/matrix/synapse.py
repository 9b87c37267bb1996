"""A real Synapse homeserver for the Matrix tests: installed once in its own virtualenv, started on loopback.

The virtualenv is cached under ``~/.cache/peer-circles/synapse-<version>`` (or ``$PEER_CIRCLES_SYNAPSE_VENV``); when
it cannot be installed (no network), the Matrix tests skip and say why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SYNAPSE_VERSION = "1.163"
STARTUP_TIMEOUT = 60.0

_RATE = {"per_second": 1000, "burst_count": 1000}
RATE_LIMITS: dict[str, object] = {
    "rc_message": _RATE,
    "rc_registration": _RATE,
    "rc_login": {"address": _RATE, "account": _RATE, "failed_attempts": _RATE},
    "rc_joins": {"local": _RATE, "remote": _RATE},
    "rc_joins_per_room": _RATE,
    "rc_invites": {"per_room": _RATE, "per_user": _RATE, "per_issuer": _RATE},
    "rc_room_creation": _RATE,
    "rc_admin_redaction": _RATE,
    "rc_3pid_validation": _RATE,
    "rc_key_requests": _RATE,
    "rc_presence": {"per_user": _RATE},
    "rc_delayed_event_mgmt": _RATE,
    "rc_reports": _RATE,
    "rc_user_directory": _RATE,
    "rc_profile": _RATE,
    "rc_media_create": _RATE,
}


class SynapseUnavailable(Exception):
    """Synapse cannot be installed or started here; the tests skip with this reason."""


def venv_path() -> Path:
    """Where the cached Synapse virtualenv lives."""
    configured = os.environ.get("PEER_CIRCLES_SYNAPSE_VENV")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "peer-circles" / f"synapse-{SYNAPSE_VERSION}"


def ensure_installed() -> Path:
    """The Synapse virtualenv's python, installing it the first time (about 25 s)."""
    venv = venv_path()
    python = venv / "bin" / "python"
    if python.exists():
        return python
    staging = venv.with_name(venv.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(staging / "bin" / "python"), "-m", "pip", "install", "-q", f"matrix-synapse=={SYNAPSE_VERSION}.*"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        detail = getattr(error, "stderr", b"") or b""
        raise SynapseUnavailable(
            f"cannot install matrix-synapse {SYNAPSE_VERSION} (no network?): {error}; {detail[-300:]!r}"
        ) from error
    venv.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staging, venv)
    except OSError:
        # Another test run installed it at the same time and finished first: use theirs.
        shutil.rmtree(staging, ignore_errors=True)
        if not python.exists():
            raise
    return python


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Account:
    """A registered user and their access token."""

    user_id: str
    access_token: str


class Synapse:
    """One running homeserver."""

    def __init__(self, python: Path, directory: Path) -> None:
        self.python = python
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        directory = self.directory
        key = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        (directory / "signing.key").write_text(f"ed25519 a_test {key}\n")
        (directory / "log.yaml").write_text(
            "version: 1\nhandlers:\n  file:\n    class: logging.FileHandler\n"
            f"    filename: {directory / 'homeserver.log'}\nroot:\n  level: WARNING\n  handlers: [file]\n"
            "disable_existing_loggers: false\n"
        )
        config: dict[str, object] = {
            "server_name": "localhost",
            "pid_file": str(directory / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
            "log_config": str(directory / "log.yaml"),
            "media_store_path": str(directory / "media"),
            "signing_key_path": str(directory / "signing.key"),
            "registration_shared_secret": self.secret,
            "enable_registration": False,
            "report_stats": False,
            "bcrypt_rounds": 4,
            "presence": {"enabled": False},
            "federation_domain_whitelist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            **RATE_LIMITS,
        }
        # JSON is YAML: no YAML writer needed for the homeserver's configuration.
        (directory / "homeserver.yaml").write_text(json.dumps(config, indent=2))

    def start(self) -> None:
        """Start and wait (bounded) until the client API answers."""
        log = (self.directory / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.python), "-m", "synapse.app.homeserver", "-c", str(self.directory / "homeserver.yaml")],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SynapseUnavailable(f"synapse exited with {self.process.returncode}; see {self.directory}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)  # polling a readiness endpoint, not waiting for behaviour
        raise SynapseUnavailable(f"synapse did not answer within {STARTUP_TIMEOUT} s; see {self.directory}")

    def stop(self) -> None:
        """SIGTERM, then wait for the process to end."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _json(self, method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            result: dict[str, object] = json.loads(answer.read())
            return result

    def register(self, name: str, *, admin: bool = False) -> Account:
        """Register ``@name:localhost`` with the shared-secret admin API."""
        password = secrets.token_hex(8)
        nonce = str(self._json("GET", "/_synapse/admin/v1/register")["nonce"])
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
        answer = self._json(
            "POST",
            "/_synapse/admin/v1/register",
            {"nonce": nonce, "username": name, "password": password, "admin": admin, "mac": mac.hexdigest()},
        )
        return Account(str(answer["user_id"]), str(answer["access_token"]))
