"""Where a webhook may be sent: http(s) only, and never inside our own network unless allowed.

A URL that names (or resolves to) a loopback, private, link-local, multicast or reserved
address is refused when the subscription is made, and again before every request, since a
name can be pointed elsewhere later; the request then goes to the very address that was
checked (resolved once, no second lookup: DNS rebinding), with the name as Host and TLS server
name. Redirects are never followed. Tests and an
intranet receiver set `KLARVARSEL_WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true`.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

URL_MAX_LENGTH = 2000


class AddressRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


# NAT64's well-known prefix: a gateway turns 64:ff9b::a.b.c.d into the IPv4 address a.b.c.d.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (mapped, NAT64, 6to4, IPv4-compatible), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _private(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    # An address that carries an IPv4 one is as private as that one (10.x behind NAT64...).
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded(ip)) is not None:
        ip = inner
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """The URL if it may receive webhooks; AddressRefused otherwise."""
    if len(url) > URL_MAX_LENGTH:
        raise AddressRefused(f"url: longer than {URL_MAX_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(f"url: only http and https are allowed, not {parts.scheme or '?'!r}")
    if not parts.hostname:
        raise AddressRefused("url: has no host")
    if parts.username or parts.password:
        raise AddressRefused("url: must not carry a user name or password")
    if allow_private or not resolve:
        return url
    checked_addresses(url, allow_private=False)
    return url


def checked_addresses(url: str, *, allow_private: bool) -> list[str]:
    """The addresses the URL's host resolves to, once, each checked; AddressRefused otherwise.

    The sender connects to one of these very addresses (see `pinned`), so a name that is
    pointed elsewhere between the check and the connection (DNS rebinding) changes nothing.
    """
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise AddressRefused(
            f"url: the host {parts.hostname!r} cannot be resolved ({exc})"
        ) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    inside = sorted(a for a in addresses if _private(a))
    if inside and not allow_private:
        raise AddressRefused(
            f"url: {parts.hostname} is a private, loopback or reserved address "
            f"({', '.join(inside)}); webhooks go to public addresses only"
        )
    if not addresses:
        raise AddressRefused(f"url: the host {parts.hostname!r} has no address")
    return addresses


def pinned(url: str, address: str) -> tuple[str, str]:
    """(the URL with its host replaced by the checked address, the Host header to send)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    header = parts.hostname or ""
    header = f"[{header}]" if ":" in header else header
    if parts.port is not None:
        header = f"{header}:{parts.port}"
    return parts._replace(netloc=netloc).geturl(), header
