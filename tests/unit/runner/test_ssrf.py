"""The outbound guard: address classes, allow lists, URL checks, the guarded resolver."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from chalicelib.runner.errors import OutboundRefused
from chalicelib.runner.ssrf import OutboundPolicy, parse_outbound_allow, refusal_reason


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("127.0.0.1", "loopback"), ("127.255.255.254", "loopback"), ("::1", "loopback"),
        ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("172.31.255.255", "private"),
        ("192.168.0.1", "private"), ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
        ("fd00:ec2::254", "metadata"), ("fc00::1", "private"), ("0.0.0.0", "unspecified"),
        ("::", "unspecified"), ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"), ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"),
        ("100.64.0.1", "globally routable"), ("192.0.2.1", "private"), ("198.18.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.0.0.1", "private"), ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a00:1::", "private"), ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64
        ("fec0::1", "site-local"), ("0.1.2.3", "private"), ("::ffff:0:0", "unspecified"),
        ("64:ff9b::7f00:1", "loopback"), ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),
    ],
)
def test_refused_addresses(address: str, label: str) -> None:
    reason = refusal_reason(ipaddress.ip_address(address))
    assert reason is not None and label in reason


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
     "2002:808:808::", "64:ff9b::808:808"],
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_parse_outbound_allow() -> None:
    assert parse_outbound_allow("127.0.0.0/8, ::1/128,,  API.Internal.example ,*.corp.test") == [
        "127.0.0.0/8", "::1/128", "api.internal.example", "*.corp.test",
    ]
    assert parse_outbound_allow(None) == []
    assert parse_outbound_allow("") == []
    assert parse_outbound_allow(["10.0.0.1"]) == ["10.0.0.1"]
    for bad in ("10.0.0.0/33", "not a host!", "http://x.test", "*.", "a..b"):
        with pytest.raises(ValueError, match="neither a CIDR nor a hostname"):
            parse_outbound_allow(bad)


def test_policy_allow_list() -> None:
    policy = OutboundPolicy(["127.0.0.0/8", "fd00::/8", "internal.example", "*.corp.test"])
    assert policy.ip_refusal(ipaddress.ip_address("127.0.0.5")) is None
    assert policy.ip_refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None  # mapped form
    assert policy.ip_refusal(ipaddress.ip_address("fd12::1")) is None
    assert policy.ip_refusal(ipaddress.ip_address("10.0.0.1")) is not None
    assert policy.host_allowed("Internal.Example.")
    assert policy.host_allowed("a.b.corp.test") and policy.host_allowed("corp.test")
    assert not policy.host_allowed("notcorp.test")
    assert not policy.host_allowed("internal.example.evil.test")
    assert OutboundPolicy(allow_private=True).ip_refusal(ipaddress.ip_address("10.0.0.1")) is None


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("https://169.254.169.254/latest", "metadata"),
        ("gopher://example.test/", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("http://", "no host"),
        ("http://example.test:70000/", "invalid URL"),
    ],
)
def test_check_url_refuses(url: str, needle: str) -> None:
    with pytest.raises(OutboundRefused, match=needle):
        OutboundPolicy().check_url(url)


def test_check_url_lets_names_through_for_the_resolver() -> None:
    policy = OutboundPolicy()
    policy.check_url("https://api.example.test/x")
    policy.check_url("http://localhost/")  # judged by what it resolves to, at connect time
    policy.check_url("http://8.8.8.8/")
    OutboundPolicy(["127.0.0.1"]).check_url("http://127.0.0.1:9/")


def test_filter_resolved_keeps_only_allowed_addresses() -> None:
    policy = OutboundPolicy()
    assert policy.filter_resolved("mixed.test", ["10.0.0.1", "93.184.216.34"]) == [
        "93.184.216.34"]
    with pytest.raises(OutboundRefused, match="refused to connect to rebind.test: a loopback"):
        policy.filter_resolved("rebind.test", ["127.0.0.1"])
    with pytest.raises(OutboundRefused, match="resolves to nothing"):
        policy.filter_resolved("empty.test", [])
    with pytest.raises(OutboundRefused, match="not an IP address"):
        policy.filter_resolved("weird.test", ["garbage"])
    named = OutboundPolicy(["dev.internal"])
    assert named.filter_resolved("dev.internal", ["10.0.0.1"]) == ["10.0.0.1"]


def test_guarded_resolver_checks_what_the_injected_resolver_returns() -> None:
    from chalicelib.runner.aiohttp_transport import GuardedResolver, _Refused

    answers = {"public.test": ["93.184.216.34", "2606:4700::1"], "evil.test": ["169.254.169.254"]}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    resolver = GuardedResolver(OutboundPolicy(), resolve)

    async def scenario() -> None:
        results = await resolver.resolve("public.test", 443)
        assert [(r["host"], r["port"], r["family"]) for r in results] == [
            ("93.184.216.34", 443, socket.AF_INET), ("2606:4700::1", 443, socket.AF_INET6)]
        with pytest.raises(_Refused, match="metadata"):
            await resolver.resolve("evil.test", 80)
        with pytest.raises(socket.gaierror):
            await resolver.resolve("nowhere.test", 80)
        await resolver.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("url", "kind"),
    [("http://127.0.0.1:9/", "outbound_refused"), ("http://[::ffff:a9fe:a9fe]/", "outbound_refused"),
     ("http://10.0.0.1\\@example.test/", "invalid_url")],
)
def test_transport_checks_literal_addresses_itself(url: str, kind: str) -> None:
    """Even a request that skipped the engine's check never reaches a refused literal."""
    from chalicelib.runner.aiohttp_transport import AiohttpTransport
    from chalicelib.runner.transport import OutboundRequest, TransportError

    async def scenario() -> None:
        transport = AiohttpTransport(OutboundPolicy(), max_response_bytes=1000)
        try:
            with pytest.raises(TransportError) as info:
                await transport.send(OutboundRequest("GET", url, [], None, 1.0, True))
            assert info.value.kind == kind
        finally:
            await transport.aclose()

    asyncio.run(scenario())
