"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for transport tests.

It can ask for a login (AUTH), offer and require STARTTLS with a self-signed certificate made
here with `cryptography`, and refuse every recipient with a code of the test's choosing. Two
more stand-ins: a port where nothing listens, and a server that accepts but never answers.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
REFUSALS = {
    550: "550 5.1.1 <{address}>: Recipient address rejected: User unknown",
    451: "451 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later",
}


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd's Controller cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server took it: envelope, raw bytes, and how the session went."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    def parsed(self) -> EmailMessage:
        """The message parsed with the standard library, as a mail client would."""
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """aiosmtpd handler: keeps every message; optionally refuses every recipient."""

    refuse_with: int | None = None
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_with is not None:
            return REFUSALS[self.refuse_with].format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        login = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(
            ReceivedMail(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.content),
                tls=session.ssl is not None,
                login=login,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class PasswordCheck:
    """aiosmtpd authenticator that accepts exactly one login and password."""

    username: str
    password: str

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (self.username, self.password)
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


@dataclass(frozen=True)
class FakeSmtpServer:
    """A running server: where it is and what it received."""

    port: int
    handler: RecordingHandler

    @property
    def received(self) -> list[ReceivedMail]:
        """Every message accepted so far, in order."""
        return self.handler.received


@contextmanager
def smtp_server(
    *,
    refuse_with: int | None = None,
    credentials: tuple[str, str] | None = None,
    tls_context: ssl.SSLContext | None = None,
) -> Iterator[FakeSmtpServer]:
    """Run aiosmtpd on a free loopback port; with a TLS context, STARTTLS is required."""
    handler = RecordingHandler(refuse_with=refuse_with)
    options: dict[str, Any] = {}
    if tls_context is not None:
        options.update(tls_context=tls_context, require_starttls=True)
    if credentials is not None:
        options.update(
            authenticator=PasswordCheck(*credentials),
            auth_required=True,
            auth_require_tls=tls_context is not None,
        )
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port, ready_timeout=5, **options)
    controller.start()
    try:
        yield FakeSmtpServer(port, handler)
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@dataclass(frozen=True)
class SelfSignedTls:
    """A certificate for 127.0.0.1 and the contexts that serve it and trust it."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def self_signed_tls(directory: Path) -> SelfSignedTls:
    """Make a fresh key and certificate for 127.0.0.1/localhost, valid for one day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    return SelfSignedTls(server=server, client=client)
