"""The outbound guard: testcases must not reach the worker's own network.

By default a request may only go to globally routable unicast addresses: loopback,
link-local (169.254.0.0/16, the cloud metadata endpoint included), private, shared (CGNAT),
reserved, multicast and unspecified addresses are refused, and IPv6 forms that embed an IPv4
address (``::ffff:127.0.0.1``, 6to4, NAT64, Teredo) are judged by the address they embed.

The check runs on the *resolved* address of every connection (the HTTP transport resolves
names through ``GuardedResolver``, and the engine follows redirects itself, checking each
hop), so neither DNS rebinding nor a redirect to ``http://169.254.169.254/`` gets round it.
An allow list of CIDRs and hostnames (``HAT_OUTBOUND_ALLOW``) opens what a team needs.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from chalicelib.runner.errors import OutboundRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
HostResolver = Callable[[str, int], Awaitable[list[str]]]

# Where the well-known metadata services live, named in refusals so the reason is obvious.
_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "the cloud metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "the cloud metadata service",
}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SCHEMES = ("http", "https")
_MAX_CACHED_ORIGINS = 1024
# "scheme://authority": the text before the first "://", then up to the first / ? or #
_ORIGIN = re.compile(r"(.*?)://[^/?#]*", re.S).match


def parse_outbound_allow(value: str | Iterable[str] | None) -> list[str]:
    """Parse an allow list such as ``HAT_OUTBOUND_ALLOW``: comma-separated CIDRs, IPs and
    hostnames (``*.corp.example`` for a domain and its subdomains). Blank entries are
    skipped; a malformed entry raises ValueError naming it, so a bad setting fails loudly
    at start-up rather than silently allowing or refusing everything.
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for raw in items:
        entry = raw.strip().lower()
        if not entry:
            continue
        if _as_network(entry) is None and not _is_hostname_pattern(entry):
            raise ValueError(f"outbound allow entry {raw.strip()!r} is neither a CIDR nor a hostname")
        out.append(entry)
    return out


def _as_network(entry: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def _is_hostname_pattern(entry: str) -> bool:
    name = entry[2:] if entry.startswith("*.") else entry
    labels = name.rstrip(".").split(".")
    return bool(name) and all(
        label and len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
        for label in labels
    )


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def refusal_reason(ip: IPAddress) -> str | None:
    """Why the default policy refuses an address, or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:a.b.c.d and NAT64 addresses reach the IPv4 address they carry: judge that
        carried = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if carried is not None:
            reason = refusal_reason(carried)
            return f"{reason} (embedded in {ip})" if reason else None
        for inner in (ip.sixtofour, *(ip.teredo or ())):
            if inner is not None:
                reason = refusal_reason(inner)
                if reason:
                    return f"{reason} (embedded in {ip})"
    if ip in _METADATA:
        return f"{_METADATA[ip]} ({ip})"
    checks = (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    )
    for attribute, label in checks:
        if getattr(ip, attribute):
            return f"{label} ({ip})"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return f"a site-local address ({ip})"
    if not ip.is_global:
        return f"not a globally routable address ({ip})"
    return None


class OutboundPolicy:
    """Which addresses a run may reach. ``allow`` entries come from parse_outbound_allow;
    ``allow_private`` (the CLI's --allow-private) lifts the address check altogether."""

    def __init__(self, allow: Iterable[str] = (), *, allow_private: bool = False) -> None:
        entries = parse_outbound_allow(list(allow))
        self.allow_private = allow_private
        self._networks = [n for n in map(_as_network, entries) if n is not None]
        self._hosts = {e for e in entries if _as_network(e) is None and not e.startswith("*.")}
        self._domains = tuple(e[1:] for e in entries if e.startswith("*."))
        self._verdicts: dict[str, str] = {}
        self._literals: dict[str, str] = {}  # host -> literal_refusal(host)

    def host_allowed(self, host: str) -> bool:
        """True when the allow list names this host, so any address it resolves to is fine."""
        name = host.lower().rstrip(".")
        return name in self._hosts or any(
            name.endswith(domain) or name == domain[1:] for domain in self._domains
        )

    def ip_refusal(self, ip: IPAddress) -> str | None:
        if self.allow_private:
            return None
        if ip.version == 6 and ip.ipv4_mapped is not None:
            mapped: IPAddress = ip.ipv4_mapped
            if any(mapped in n for n in self._networks if n.version == 4):
                return None
        if any(ip in n for n in self._networks if n.version == ip.version):
            return None
        return refusal_reason(ip)

    def check_url(self, url: str) -> None:
        """Refuse a URL before connecting: scheme, host present, and literal IP hosts (the
        transport never resolves those, so this is where they are checked)."""
        # a run sends many requests to few origins: decide once per origin, the text up to
        # the end of the authority ("scheme://host:port"), which determines the verdict
        match = _ORIGIN(url)
        origin = match.group() if match else None
        verdict = self._verdicts.get(origin) if origin else None
        if verdict is None:
            verdict = self._check(url)
            if origin and len(self._verdicts) < _MAX_CACHED_ORIGINS:
                self._verdicts[origin] = verdict
        if verdict:
            raise OutboundRefused(verdict)

    def _check(self, url: str) -> str:
        """Why a URL is refused ("" when it is not)."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as exc:
            return f"invalid URL {url!r}: {exc}"
        if parts.scheme.lower() not in _SCHEMES:
            return f"refused {url!r}: only http and https URLs can be requested"
        if not host:
            return f"refused {url!r}: the URL has no host"
        return self.literal_refusal(host)

    def literal_refusal(self, host: str) -> str:
        """Why connecting to ``host`` is refused if it is an IP literal ("" otherwise).

        The transport asks again with the host as its own URL parser reads it, so a URL
        two parsers read differently cannot slip a literal address past the guard.
        Every request asks, for a handful of hosts: decided once per host.
        """
        verdict = self._literals.get(host)
        if verdict is None:
            verdict = self._literal_refusal(host)
            if len(self._literals) < _MAX_CACHED_ORIGINS:
                self._literals[host] = verdict
        return verdict

    def _literal_refusal(self, host: str) -> str:
        ip = _ip(host)
        if ip is None or self.host_allowed(host):
            return ""
        reason = self.ip_refusal(ip)
        return _refusal(host, reason) if reason else ""

    def filter_resolved(self, host: str, addresses: list[str]) -> list[str]:
        """The resolved addresses a connection may use; OutboundRefused if none."""
        if self.allow_private or self.host_allowed(host):
            return addresses
        allowed: list[str] = []
        reasons: list[str] = []
        for address in addresses:
            ip = _ip(address)
            reason = "not an IP address" if ip is None else self.ip_refusal(ip)
            if reason:
                reasons.append(reason)
            else:
                allowed.append(address)
        if not allowed:
            raise OutboundRefused(_refusal(host, "; ".join(reasons) or "it resolves to nothing"))
        return allowed


def _refusal(host: str, reason: str) -> str:
    return (
        f"refused to connect to {host}: {reason}. Runs may only reach public addresses; "
        "ask an administrator to add it to HAT_OUTBOUND_ALLOW if this is intended"
    )


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a name with the operating system's resolver (getaddrinfo, off the loop)."""
    import asyncio

    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)
