"""Where a webhook request may go and which headers it may carry, whatever the config says.

Pure: the config checks a URL's literal address and its headers with these when it is read;
cometwatch.network checks every address a name resolves to before connecting;
cometwatch.delivery keeps a webhook's headers from replacing the ones that frame the request.
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Never connected to: the cloud metadata services live here.
FORBIDDEN_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible ::a.b.c.d
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use prefix

# Set by cometwatch on every request: a webhook's own `headers` cannot replace them.
SET_BY_COMETWATCH = frozenset({
    "content-type", "user-agent", "accept-encoding",
    "x-cometcms-event", "x-cometcms-event-id", "x-cometcms-signature",
    "webhook-id", "webhook-timestamp", "webhook-signature",
})
# Frame or route the request (RFC 9110 §7.6.1, RFC 9112): one of these from the config would
# make the receiver read another body than the one signed, or send it somewhere else.
FRAMING_HEADERS = frozenset({
    "content-length", "transfer-encoding", "content-encoding", "host", "connection", "upgrade",
    "te", "trailer", "expect", "keep-alive", "http2-settings",
})


def header_refusal(name: str) -> str | None:
    """Why a config's extra header `name` is refused, or None when it may be sent."""
    lowered = name.lower()
    if lowered in SET_BY_COMETWATCH:
        return f"{name} is set by cometwatch on every request"
    if lowered in FRAMING_HEADERS or lowered.startswith("proxy-"):
        return f"{name} frames or routes the request, which only the HTTP client may do"
    return None


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches by the way it is written (mapped, compatible,
    NAT64, 6to4, Teredo), or None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    number = int(address)
    if address in _COMPATIBLE and number > 1:  # :: and ::1 are not IPv4 addresses
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    if address in _NAT64:
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    if address in _NAT64_LOCAL:  # /48: the IPv4 bits straddle the reserved u octet
        return ipaddress.IPv4Address(((number >> 64) & 0xFFFF) << 16 | (number >> 40) & 0xFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def forbidden(address: Address) -> bool:
    """A link-local or cloud metadata address, however it is spelled."""
    return any(_in_forbidden(a) for a in (address, embedded_ipv4(address)) if a is not None)


def _in_forbidden(address: Address) -> bool:
    return any(address in net for net in FORBIDDEN_NETWORKS if net.version == address.version)


def forbidden_literal(host: str) -> bool:
    """`host` from a URL is an address literal that `forbidden` rules out (a name is checked on
    the addresses it resolves to, when connecting)."""
    address = literal(host)
    return address is not None and forbidden(address)


def literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return None


def loopback(address: Address) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


def loopback_host(host: str) -> bool:
    """`host` (a name or a literal, IPv6 without brackets) is loopback by how it is written."""
    if host.lower() in ("localhost", "localhost."):
        return True
    address = literal(host)
    return address is not None and loopback(address)
