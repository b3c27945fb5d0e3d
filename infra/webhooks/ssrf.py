"""Where a user-given URL may send us: only http(s), and only to public addresses.

The host is resolved and refused if ANY address is loopback, private, link-local (the
169.254.169.254 metadata service), multicast, reserved, unspecified, CGNAT (100.64/10),
IPv6 unique-local, or an IPv4-mapped/6to4/NAT64 form of one. The request then dials the
checked address itself (the URL's host rewritten to the IP, the original name kept in the
Host header and as TLS SNI/certificate name), so DNS cannot answer differently between
the check and the connect. Hosts on the allow-list skip the address check only.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(InvalidInput):
    code = "webhook_url_refused"


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UrlRefused(f"the host {host!r} does not resolve") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def why_refused(address: Address) -> str | None:
    """The reason this address is not a public one, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            return why_refused(inner)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local (cloud metadata)", address.is_link_local),
        ("private", address.is_private or (address.version == 4 and address in CGNAT)),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved or not address.is_global),
    )
    return next((f"a {name} address" for name, hit in checks if hit), None)


@dataclass(frozen=True)
class Target:
    """A checked URL: what to dial, and the name to present."""

    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked address the request dials


class UrlGuard:
    def __init__(self, allowed_hosts: Collection[str] = (), resolver: Resolver = resolve) -> None:
        self.allowed = {host.strip().lower() for host in allowed_hosts if host.strip()}
        self.resolver = resolver

    def check(self, url: str) -> Target:
        """The URL's target if it may be called; UrlRefused (422) naming why not."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UrlRefused(f"only http and https URLs are allowed, not {parts.scheme or '?'!r}")
        if not parts.hostname:
            raise UrlRefused("the URL has no host")
        if parts.username or parts.password:
            raise UrlRefused("the URL must not carry credentials")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UrlRefused("the URL's port is not a number from 0 to 65535") from None
        host = parts.hostname.lower()
        addresses = self.resolver(host, port)
        if not addresses:
            raise UrlRefused(f"the host {host!r} does not resolve")
        if host not in self.allowed:
            for text in addresses:
                reason = why_refused(ipaddress.ip_address(text.split("%")[0]))
                if reason:
                    raise UrlRefused(f"{host!r} resolves to {text}, {reason}")
        return Target(url, parts.scheme, host, port, addresses[0])
