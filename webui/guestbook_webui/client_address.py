"""Who the client is, when a reverse proxy may stand in between (pure functions).

Forwarding headers are believed only from a configured trusted proxy: anyone
else could write any address into them and so escape the rate limit. RFC 7239
``Forwarded`` wins over ``X-Forwarded-For``; both list the hops left to right,
so the client is the rightmost address that is not itself a trusted proxy
(decision 0121).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """``proxies`` (addresses or CIDR networks) as networks. Raises ValueError for
    one that is neither (the settings check this first)."""
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def is_trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _forwarded_for(header: str) -> list[tuple[str, str]]:
    """The ``for`` and ``proto`` of each element of an RFC 7239 Forwarded header."""
    hops = []
    for element in header.split(","):
        address, proto = "", ""
        for pair in element.split(";"):
            key, _, value = pair.strip().partition("=")
            value = value.strip().strip('"')
            if key.strip().lower() == "for":
                # IPv6 is quoted and bracketed, a port may follow: "[2001:db8::1]:4711".
                if value.startswith("["):
                    value = value[1:].partition("]")[0]
                elif value.count(":") == 1:
                    value = value.partition(":")[0]
                address = value
            elif key.strip().lower() == "proto":
                proto = value.lower()
        hops.append((address, proto))
    return hops


@dataclass(frozen=True)
class Client:
    """The client's address and the scheme it used (``https`` when a trusted proxy
    terminated TLS for it)."""

    address: str
    scheme: str


def resolve_client(
    peer: str,
    scheme: str,
    headers: dict[str, str],
    networks: Sequence[Network],
) -> Client:
    """The client behind ``peer`` (the TCP peer address). ``headers`` are the
    request's, lower-case names, repeated headers joined with ", ".

    Only when ``peer`` is a trusted proxy are the forwarding headers read; the
    client is then the rightmost hop that is not a trusted proxy (an address
    that does not parse ends the walk: nothing left of it can be believed).
    """
    if not networks or not is_trusted(peer, networks):
        return Client(peer, scheme)
    forwarded = headers.get("forwarded")
    if forwarded:
        hops = _forwarded_for(forwarded)
    else:
        addresses = [part.strip() for part in headers.get("x-forwarded-for", "").split(",")]
        proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
        hops = [(address, "") for address in addresses if address]
        if hops and proto:
            hops[-1] = (hops[-1][0], proto)
    client, client_scheme = peer, scheme
    for address, proto in reversed(hops):
        if proto in ("http", "https") and client == peer:
            client_scheme = proto  # the proxy next to us says how the client reached it
        try:
            ipaddress.ip_address(address)
        except ValueError:
            break
        client = address
        if not is_trusted(address, networks):
            break
    return Client(client, client_scheme)
