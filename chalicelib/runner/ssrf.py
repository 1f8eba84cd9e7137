"""The outbound guard: testcases must not reach the worker's own network.

By default a request may only go to globally routable unicast addresses: loopback,
link-local (169.254.0.0/16, the cloud metadata endpoint included), private, shared (CGNAT),
reserved, multicast and unspecified addresses are refused, and IPv6 forms that embed an IPv4
address (``::ffff:127.0.0.1``, 6to4, NAT64, Teredo) are judged by the address they embed.

The check runs on the *resolved* address of every connection (the HTTP transport resolves
names through ``GuardedResolver``, and the engine follows redirects itself, checking each
hop), so neither DNS rebinding nor a redirect to ``http://169.254.169.254/`` gets round it.
An allow list of CIDRs and hostnames (``HAT_OUTBOUND_ALLOW``) opens what a team needs; its
``!address:port`` entries close ports again, whatever else the list allows (the local stack
opens loopback for the developer's API but not its own emulator, mail and SMS stand-ins).

Every spelling of an IPv4 address is one address: ``2130706433``, ``0x7f000001``,
``0177.0.0.1`` and ``127.1`` are read as the system resolver reads them (inet_aton), judged
as ``127.0.0.1`` and sent as that.
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
_LEGACY_IPV4 = re.compile(r"(?:0[xX][0-9a-fA-F]*|\d+)(?:\.(?:0[xX][0-9a-fA-F]*|\d+)){0,3}\.?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_RESERVED = "is reserved for the platform's own services"
Denial = tuple[IPNetwork, "int | None"]  # an address range and a port (None: every port)


def parse_outbound_allow(value: str | Iterable[str] | None) -> list[str]:
    """Parse an allow list such as ``HAT_OUTBOUND_ALLOW``: comma-separated CIDRs, IPs and
    hostnames (``*.corp.example`` for a domain and its subdomains), and exceptions that
    refuse what the rest allows: ``!127.0.0.0/8:4566`` (a port of an address range),
    ``![::1]:4566``, ``!10.0.0.5`` (every port). Blank entries are skipped; a malformed
    entry raises ValueError naming it, so a bad setting fails loudly at start-up rather
    than silently allowing or refusing everything.
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for raw in items:
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry.startswith("!"):
            if _as_denial(entry) is None:
                raise ValueError(
                    f"outbound deny entry {raw.strip()!r} is not !address[:port] "
                    "(an IP or CIDR; IPv6 in brackets when a port follows)"
                )
        elif _as_network(entry) is None and not _is_hostname_pattern(entry):
            raise ValueError(f"outbound allow entry {raw.strip()!r} is neither a CIDR nor a hostname")
        out.append(entry)
    return out


def _as_denial(entry: str) -> Denial | None:
    """``!address[:port]`` as (network, port), or None when it is not one."""
    text = entry[1:]
    port: int | None = None
    if text.startswith("["):
        address, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        text, port_text = address, rest[1:]
    elif text.count(":") == 1:
        text, port_text = text.split(":")
    else:
        port_text = ""  # an IPv4 range, or a bare IPv6 one (every port)
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    network = _as_network(text)
    return None if network is None else (network, port)


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a numeric host other than dotted-quad names (``2130706433``,
    ``0x7f.1``, ``0177.0.0.1``), as inet_aton reads it: 1-4 parts, each decimal, octal
    (leading 0) or hex (0x), the last filling the remaining bytes. None for anything else."""
    if not _LEGACY_IPV4.fullmatch(host):
        return None
    parts = host.rstrip(".").split(".")
    values: list[int] = []
    for part in parts:
        if part[:2].lower() == "0x":
            digits, base = part[2:] or "0", 16
        elif len(part) > 1 and part[0] == "0":
            digits, base = part[1:], 8
        else:
            digits, base = part, 10
        if len(digits) > 12:
            return None
        try:
            values.append(int(digits, base))
        except ValueError:  # 08 or 09: not octal, and inet_aton refuses it too
            return None
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (4 - len(leading)):
        return None
    number = last
    for index, value in enumerate(leading):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


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
        denials = [e for e in entries if e.startswith("!")]
        entries = [e for e in entries if not e.startswith("!")]
        self._denied: list[Denial] = [d for d in map(_as_denial, denials) if d is not None]
        self._networks = [n for n in map(_as_network, entries) if n is not None]
        self._hosts = {e for e in entries if _as_network(e) is None and not e.startswith("*.")}
        self._domains = tuple(e[1:] for e in entries if e.startswith("*."))
        # origin -> (why it is refused or "", the origin to send to when it is respelt)
        self._verdicts: dict[str, tuple[str, str | None]] = {}
        self._literals: dict[tuple[str, int | None], str] = {}  # literal_refusal, decided

    def host_allowed(self, host: str) -> bool:
        """True when the allow list names this host, so any address it resolves to is fine."""
        name = host.lower().rstrip(".")
        return name in self._hosts or any(
            name.endswith(domain) or name == domain[1:] for domain in self._domains
        )

    def denial(self, ip: IPAddress, port: int | None) -> str | None:
        """Why an ``!address:port`` exception refuses this address and port, if one does."""
        if not self._denied:
            return None
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for network, denied_port in self._denied:
            if ip.version == network.version and ip in network and denied_port in (None, port):
                where = f"{ip}:{port}" if port is not None else str(ip)
                return f"{where} {_RESERVED}"
        return None

    def ip_refusal(self, ip: IPAddress, port: int | None = None) -> str | None:
        denied = self.denial(ip, port)
        if denied:
            return denied
        if self.allow_private:
            return None
        if ip.version == 6 and ip.ipv4_mapped is not None:
            mapped: IPAddress = ip.ipv4_mapped
            if any(mapped in n for n in self._networks if n.version == 4):
                return None
        if any(ip in n for n in self._networks if n.version == ip.version):
            return None
        return refusal_reason(ip)

    def check_url(self, url: str) -> str:
        """Refuse a URL before connecting: scheme, host present, and literal IP hosts (the
        transport never resolves those, so this is where they are checked). Returns the
        URL to send: the same, or with a numeric host other than dotted-quad respelt as
        the address it names, so that the address checked is the address connected to."""
        # a run sends many requests to few origins: decide once per origin, the text up to
        # the end of the authority ("scheme://host:port"), which determines the verdict
        match = _ORIGIN(url)
        origin = match.group() if match else None
        decided = self._verdicts.get(origin) if origin else None
        if decided is None:
            decided = self._check(url, origin)
            if origin and len(self._verdicts) < _MAX_CACHED_ORIGINS:
                self._verdicts[origin] = decided
        verdict, respelt = decided
        if verdict:
            raise OutboundRefused(verdict)
        return url if respelt is None else respelt + url[len(origin or ""):]

    def _check(self, url: str, origin: str | None) -> tuple[str, str | None]:
        """Why a URL is refused ("" when it is not), and its origin respelt if need be."""
        shown = repr(url if len(url) <= 200 else url[:200] + "...")
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError as exc:
            return f"invalid URL {shown}: {exc}", None
        if parts.scheme.lower() not in _SCHEMES:
            return f"refused {shown}: only http and https URLs can be requested", None
        if not host:
            return f"refused {shown}: the URL has no host", None
        legacy = legacy_ipv4(host) if _ip(host) is None else None
        if legacy is None or origin is None:
            return self.literal_refusal(host, port), None
        # the host as written sits at the end of the authority's userinfo, before any port
        authority = origin.split("://", 1)[1]
        userinfo, at, hostport = authority.rpartition("@")
        written, colon, port_text = hostport.partition(":")
        respelt = f"{origin.split('://', 1)[0]}://{userinfo}{at}{legacy}{colon}{port_text}"
        return self.literal_refusal(str(legacy), port), respelt

    def literal_refusal(self, host: str, port: int | None = None) -> str:
        """Why connecting to ``host`` (on ``port``) is refused if it is an IP literal
        ("" otherwise).

        The transport asks again with the host as its own URL parser reads it, so a URL
        two parsers read differently cannot slip a literal address past the guard.
        Every request asks, for a handful of hosts: decided once per host and port.
        """
        key = (host, port)
        verdict = self._literals.get(key)
        if verdict is None:
            verdict = self._literal_refusal(host, port)
            if len(self._literals) < _MAX_CACHED_ORIGINS:
                self._literals[key] = verdict
        return verdict

    def _literal_refusal(self, host: str, port: int | None) -> str:
        ip = _ip(host)
        if ip is None:
            legacy = legacy_ipv4(host)
            if legacy is None:
                return ""
            ip = legacy  # a spelling another parser may still read as an address
        reason = self.denial(ip, port) if self.host_allowed(host) else self.ip_refusal(ip, port)
        return _refusal(host, reason) if reason else ""

    def filter_resolved(
        self, host: str, addresses: list[str], port: int | None = None
    ) -> list[str]:
        """The resolved addresses a connection may use; OutboundRefused if none."""
        if (self.allow_private or self.host_allowed(host)) and not self._denied:
            return addresses
        lifted = self.allow_private or self.host_allowed(host)
        allowed: list[str] = []
        reasons: list[str] = []
        for address in addresses:
            ip = _ip(address)
            if ip is None:
                reason = None if lifted else "not an IP address"
            else:
                reason = self.denial(ip, port) if lifted else self.ip_refusal(ip, port)
            if reason:
                reasons.append(reason)
            else:
                allowed.append(address)
        if not allowed:
            raise OutboundRefused(_refusal(host, "; ".join(reasons) or "it resolves to nothing"))
        return allowed


def _refusal(host: str, reason: str) -> str:
    if all(_RESERVED in part for part in reason.split("; ")):
        return f"refused to connect to {host}: {reason}"  # no setting opens these
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
