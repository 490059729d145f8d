"""Signing secrets sealed at rest, and requests that go to the address that was checked."""

from __future__ import annotations

import base64
import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy import Engine

from service.clock import utcnow
from service.config import Settings
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from service.webhooks.models import WebhookSubscription
from service.webhooks.secret_box import KEY_FILE as KEY_FILE_NAME
from service.webhooks.secret_box import (
    PREFIX,
    SecretKeyMissing,
    box_key,
    key_file,
    seal_stored_secrets,
    unseal,
)
from service.webhooks.sender import Job, send
from service.webhooks.service import Owner, create_subscription
from service.webhooks.signing import new_secret, verify


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'hooks.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _settings(tmp_path: Path, **changes: Any) -> Settings:
    options: dict[str, Any] = {"webhook_allow_private_addresses": True, **changes}
    return Settings(var_dir=tmp_path / "var", **options)


OWNER = Owner(actor="key:test", key_id=None, test_only=False, may_read_reports=True)


def test_processes_starting_at_once_agree_on_one_whole_key(tmp_path: Path) -> None:
    """Many starts racing to make the key file: every one gets the same key, none an empty one."""
    settings = _settings(tmp_path)
    keys: list[bytes] = []
    problems: list[BaseException] = []
    start = threading.Barrier(16)

    def make() -> None:
        start.wait()
        try:
            keys.append(box_key(settings, create=True))
        except BaseException as exc:  # reported below with the others
            problems.append(exc)

    threads = [threading.Thread(target=make) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert len(keys) == 16 and len(set(keys)) == 1 and len(keys[0]) == 32
    assert [p.name for p in key_file(settings).parent.iterdir()] == [key_file(settings).name]
    assert key_file(settings).stat().st_mode & 0o777 == 0o600


def test_a_secret_is_stored_sealed_under_a_key_generated_into_var(
    engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    with session_scope(engine) as session:
        made, secret = create_subscription(
            session, OWNER, settings, url="https://8.8.8.8/hook", events=["notice.*"]
        )
        stored = made.secret
    assert secret.startswith("whsec_") and stored.startswith(PREFIX)
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    path = key_file(settings)
    assert path.stat().st_mode & 0o777 == 0o600  # the embedded default's own key
    assert unseal(stored, settings, made.id) == secret
    other = _settings(tmp_path / "elsewhere")  # a copy of the database without the key
    with pytest.raises(SecretKeyMissing, match=r"restore .*webhook-secrets\.key"):
        unseal(stored, other, made.id)
    with session_scope(engine) as session, pytest.raises(SecretKeyMissing):
        # Not a new key over secrets sealed under a lost one.
        box_key(other, session, create=True)
    with session_scope(engine) as session, pytest.raises(SecretKeyMissing, match="no key"):
        create_subscription(  # the API answers 503 webhook-key-missing with this message
            session, OWNER, other, url="https://8.8.8.8/hook", events=["notice.*"]
        )
    assert not key_file(other).exists()


def test_a_configured_key_seals_old_secrets_and_a_wrong_key_says_so(
    engine: Engine, tmp_path: Path
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    settings = _settings(tmp_path, webhook_secrets_key=key)
    old = new_secret()
    with session_scope(engine) as session:
        row = WebhookSubscription(
            owner="key:old", url="https://8.8.8.8/hook", events=["notice.*"], secret=old
        )
        session.add(row)
        session.flush()
        row_id = row.id
        assert unseal(old, settings, row_id) == old  # stored as given (before sealing existed)
        assert seal_stored_secrets(session, settings) == 1
        assert seal_stored_secrets(session, settings) == 0
    with session_scope(engine) as session:
        stored = session.scalars(sa.select(WebhookSubscription.secret)).one()
    assert stored.startswith(PREFIX) and unseal(stored, settings, row_id) == old
    assert not key_file(settings).exists()  # the setting's key, no file
    wrong = _settings(tmp_path, webhook_secrets_key=base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(SecretKeyMissing, match="not the one it was sealed with"):
        unseal(stored, wrong, row_id)
    with pytest.raises(SecretKeyMissing, match="KLARVARSEL_WEBHOOK_SECRETS_KEY is not base64"):
        box_key(_settings(tmp_path, webhook_secrets_key="short"))


def test_a_sealed_secret_opens_only_for_its_own_subscription(
    engine: Engine, tmp_path: Path
) -> None:
    """Copying one row's sealed secret onto another does not make the other sign with it."""
    settings = _settings(tmp_path)
    with session_scope(engine) as session:
        first, first_secret = create_subscription(
            session, OWNER, settings, url="https://8.8.8.8/one", events=["notice.*"]
        )
        second, _ = create_subscription(
            session, OWNER, settings, url="https://8.8.8.8/two", events=["notice.*"]
        )
        first_id, second_id, copied = first.id, second.id, first.secret
        second.secret = copied  # a database writer without the key swaps the secrets
    assert unseal(copied, settings, first_id) == first_secret
    with pytest.raises(SecretKeyMissing, match="copied from another subscription"):
        unseal(copied, settings, second_id)


def test_secrets_sealed_before_the_binding_are_read_and_sealed_bound(
    engine: Engine, tmp_path: Path
) -> None:
    """A `kvbox1:` value (no subscription in its associated data) still opens, then is bound."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from service.webhooks.secret_box import AAD, UNBOUND_PREFIX

    settings = _settings(tmp_path)
    key, old, nonce = box_key(settings, create=True), new_secret(), os.urandom(12)
    unbound = (
        UNBOUND_PREFIX
        + base64.b64encode(nonce + AESGCM(key).encrypt(nonce, old.encode(), AAD)).decode()
    )
    with session_scope(engine) as session:
        row = WebhookSubscription(
            owner="key:old", url="https://8.8.8.8/hook", events=["notice.*"], secret=unbound
        )
        session.add(row)
        session.flush()
        row_id = row.id
        assert unseal(unbound, settings, row_id) == old
        assert seal_stored_secrets(session, settings) == 1
    with session_scope(engine) as session:
        stored = session.scalars(sa.select(WebhookSubscription.secret)).one()
    assert stored.startswith(PREFIX) and unseal(stored, settings, row_id) == old
    with pytest.raises(SecretKeyMissing):
        unseal(stored, settings, row_id + 1)


def _subscribe(engine: Engine, settings: Settings, count: int) -> dict[int, str]:
    made = {}
    with session_scope(engine) as session:
        for n in range(count):
            row, secret = create_subscription(
                session, OWNER, settings, url=f"https://8.8.8.8/{n}", events=["notice.*"]
            )
            made[row.id] = secret
    return made


def _stored(engine: Engine) -> dict[int, str]:
    with session_scope(engine) as session:
        rows = session.execute(sa.select(WebhookSubscription.id, WebhookSubscription.secret))
        return {row.id: row.secret for row in rows}


def test_a_configured_key_is_rotated_with_the_old_one_kept_until_resealed(
    engine: Engine, tmp_path: Path
) -> None:
    """New key set, old key among the previous ones: everything opens, then reseal moves all."""
    old_key, new_key = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    made = _subscribe(engine, _settings(tmp_path, webhook_secrets_key=old_key), 3)
    rotating = _settings(
        tmp_path, webhook_secrets_key=new_key, webhook_secrets_previous_keys=f" {old_key} "
    )
    for row_id, stored in _stored(engine).items():
        assert unseal(stored, rotating, row_id) == made[row_id]  # sending goes on meanwhile
    with session_scope(engine) as session:
        assert seal_stored_secrets(session, rotating) == 3
        assert seal_stored_secrets(session, rotating) == 0
    new_only = _settings(tmp_path, webhook_secrets_key=new_key)
    for row_id, stored in _stored(engine).items():
        assert unseal(stored, new_only, row_id) == made[row_id]
        with pytest.raises(SecretKeyMissing, match="PREVIOUS_KEYS"):
            unseal(stored, _settings(tmp_path, webhook_secrets_key=old_key), row_id)


def test_the_key_file_is_rotated_by_the_command_and_the_old_key_opens_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`klarvarsel webhooks rotate-key`: a new key file, every secret under it, audited."""
    from typer.testing import CliRunner

    from service.audit.models import AuditEvent
    from service.cli import app as cli
    from service.config import get_settings
    from service.store.database import get_engine

    url = f"sqlite:///{tmp_path / 'rotate.sqlite3'}"
    monkeypatch.setenv("KLARVARSEL_DATABASE_URL", url)
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KLARVARSEL_WEBHOOK_SECRETS_KEY", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        upgrade(url)
        engine = get_engine()
        settings = get_settings()
        made = _subscribe(engine, settings, 2)
        before = key_file(settings).read_text()
        result = CliRunner().invoke(cli, ["webhooks", "rotate-key"])
        assert result.exit_code == 0, result.output
        assert "2 webhook secret(s) sealed under it" in result.output
        assert key_file(settings).read_text() != before
        assert key_file(settings).stat().st_mode & 0o777 == 0o600
        assert sorted(p.name for p in key_file(settings).parent.iterdir()) == [KEY_FILE_NAME]
        old = _settings(tmp_path / "old", webhook_secrets_key=before.strip())
        for row_id, stored in _stored(engine).items():
            assert unseal(stored, settings, row_id) == made[row_id]
            with pytest.raises(SecretKeyMissing):
                unseal(stored, old, row_id)
        with session_scope(engine) as session:
            actions = list(session.scalars(sa.select(AuditEvent.action)))
        assert "webhook.key_rotated" in actions
        get_settings.cache_clear()  # the command reads the key setting given below
        configured = CliRunner().invoke(
            cli, ["webhooks", "rotate-key"], env={"KLARVARSEL_WEBHOOK_SECRETS_KEY": before.strip()}
        )
        assert configured.exit_code != 0 and "PREVIOUS_KEYS" in configured.output
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()


def test_a_rotation_that_stopped_midway_still_opens_and_is_undone_by_the_next(
    engine: Engine, tmp_path: Path
) -> None:
    """Secrets committed under the new key before its file was put in place still open."""
    from service.webhooks.secret_box import KEY_FILE, seal

    settings = _settings(tmp_path)
    made = _subscribe(engine, settings, 2)
    pending = key_file(settings).with_name(KEY_FILE + ".new")
    fresh = os.urandom(32)
    pending.write_text(base64.b64encode(fresh).decode() + "\n")
    with session_scope(engine) as session:  # as rotate_key_file does before the rename
        for row in session.scalars(sa.select(WebhookSubscription)):
            row.secret = seal(made[row.id], fresh, row.id)
    for row_id, stored in _stored(engine).items():
        assert unseal(stored, settings, row_id) == made[row_id]
    from service.webhooks.secret_box import rotate_key_file

    with session_scope(engine) as session:
        assert rotate_key_file(session, settings) == 2
    assert not pending.exists()
    for row_id, stored in _stored(engine).items():
        assert unseal(stored, settings, row_id) == made[row_id]


class _Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []


@pytest.fixture
def receiver() -> Iterator[tuple[int, _Receiver]]:
    got = _Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], got
    server.shutdown()
    server.server_close()


def test_the_request_goes_to_the_address_checked_not_to_a_second_answer(
    tmp_path: Path, receiver: tuple[int, _Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that answers loopback at the check and elsewhere a moment later (rebinding)."""
    port, got = receiver
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hook.rebind.test":
            return real(host, *args, **kwargs)
        asked.append(host)
        answer = "127.0.0.1" if len(asked) == 1 else "192.0.2.1"  # then TEST-NET: no one
        return real(answer, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    settings = _settings(tmp_path, webhook_timeout_seconds=3.0)
    secret = new_secret()
    job = Job(
        delivery_id=1,
        attempts=0,
        give_up_at=utcnow() + timedelta(hours=1),
        url=f"http://hook.rebind.test:{port}/hook",
        secret=secret,
        subscription_id=1,
        message_id="msg_rebind",
        body=b'{"type":"notice.sent"}',
    )
    with requests.Session() as http:
        http.trust_env = False
        result = send(job, settings, http)
    assert (result.status_code, result.error) == (204, None)
    assert asked == ["hook.rebind.test"]  # resolved once; the connection used that answer
    headers, body = got.requests[0]
    assert headers["host"] == f"hook.rebind.test:{port}"  # the name, as the receiver expects
    verify(secret, headers, body, now=int(utcnow().timestamp()))

    refused = send(job, _settings(tmp_path, webhook_allow_private_addresses=False), http)
    assert refused.permanent and "private, loopback or reserved" in (refused.error or "")


def test_a_missing_key_is_a_retried_error_that_says_what_to_do(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(SecretKeyMissing):
        box_key(settings)  # nothing made: no key, no file
    job = Job(
        delivery_id=1,
        attempts=0,
        give_up_at=utcnow() + timedelta(hours=1),
        url="http://127.0.0.1:9/hook",
        secret=PREFIX + base64.b64encode(os.urandom(60)).decode(),
        subscription_id=1,
        message_id="msg_nokey",
        body=b"{}",
    )
    with requests.Session() as http:
        result = send(job, settings, http)
    assert not result.permanent and "KLARVARSEL_WEBHOOK_SECRETS_KEY" in (result.error or "")


def _certificates(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for `name` signed by it: (CA file, cert file, key file)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def subject(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    # The machine clock, not the service clock: OpenSSL checks validity against the real time.
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject("Test CA"))
        .issuer_name(subject("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject(name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_https_goes_to_the_checked_address_with_the_name_for_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TLS server name and the certificate check use the name, the socket the address."""
    import ssl

    ca, cert, key = _certificates(tmp_path, "hook.rebind.test")
    names: list[str | None] = []
    got = _Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hook.rebind.test":
            return real(host, *args, **kwargs)
        asked.append(host)
        return real("127.0.0.1" if len(asked) == 1 else "192.0.2.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    job = Job(
        delivery_id=1,
        attempts=0,
        give_up_at=utcnow() + timedelta(hours=1),
        url=f"https://hook.rebind.test:{port}/hook",
        secret=new_secret(),
        subscription_id=1,
        message_id="msg_tls",
        body=b"{}",
    )
    try:
        with requests.Session() as http:
            trusted = _settings(tmp_path, webhook_ca_bundle=ca, webhook_timeout_seconds=5.0)
            result = send(job, trusted, http)
            assert (result.status_code, result.error) == (204, None), result.error
            assert names == ["hook.rebind.test"] and asked == ["hook.rebind.test"]
            assert got.requests[0][0]["host"] == f"hook.rebind.test:{port}"
            asked.clear()  # a new request resolves anew; a CA the receiver is not signed by:
            untrusted = send(job, _settings(tmp_path, webhook_timeout_seconds=5.0), http)
            assert untrusted.status_code is None and "SSL" in (untrusted.error or "")
    finally:
        server.shutdown()
        server.server_close()


def test_a_delivery_claimed_when_its_subscription_stopped_is_never_sent_again(
    engine: Engine, tmp_path: Path, frozen_clock: Any
) -> None:
    """Stopping drops what is queued; one a dead sender held is failed when its lease runs out."""
    from service.webhooks.events import emit
    from service.webhooks.models import WebhookDelivery
    from service.webhooks.sender import claim
    from service.webhooks.service import remove_subscription

    settings = _settings(tmp_path)
    _subscribe(engine, settings, 1)
    with session_scope(engine) as session:
        emit(session, "notice.sent", {"code": "AB12CD"}, mode="actual")
        emit(session, "notice.updated", {"code": "AB12CD"}, mode="actual")
    with session_scope(engine) as session:
        held = claim(session, "dead-sender", settings, batch=1)  # then the sender dies
    assert len(held) == 1
    with session_scope(engine) as session:
        row = session.scalars(sa.select(WebhookSubscription)).one()
        remove_subscription(session, row, OWNER)
    frozen_clock.advance(timedelta(seconds=settings.webhook_lease_seconds + 1))
    with session_scope(engine) as session:
        assert claim(session, "next-sender", settings) == []
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(WebhookDelivery)).all()
        assert {(r.status, r.last_error) for r in rows} == {
            ("failed", "the subscription was removed")
        }
