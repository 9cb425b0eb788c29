"""Pod IPs: one loopback address per pod, from a range of 127.0.0.0/8.

Linux routes all of 127.0.0.0/8 to the loopback interface, so a process can
bind any of those addresses without configuring anything; two pods can then
listen on the same port, as pods with their own network namespaces can.
127.0.0.1 is the node's own address (hostIP) and is never handed out.
"""

from __future__ import annotations

import ipaddress

DEFAULT_RANGE = "127.1.0.0/16"


class PodIpsExhausted(Exception):
    """Every address of the range is in use."""


class PodIpAllocator:
    """Hands out the addresses of ``cidr`` (a subnet of 127.0.0.0/8), lowest free first.

    Not thread-safe: the kubelet's event loop owns it. Requires ``cidr`` to
    lie in 127.0.0.0/8.
    """

    def __init__(self, cidr: str = DEFAULT_RANGE) -> None:
        network = ipaddress.ip_network(cidr)
        loopback = ipaddress.IPv4Network("127.0.0.0/8")
        if not (isinstance(network, ipaddress.IPv4Network) and network.subnet_of(loopback)):
            raise ValueError(f"pod IP range {cidr} is not inside 127.0.0.0/8")
        self.network = network
        self._owners: dict[str, str] = {}  # ip -> pod uid
        self._next = 0

    def _host(self, index: int) -> str:
        # Usable addresses: the network's, minus its network and broadcast address.
        return str(self.network.network_address + 1 + index)

    @property
    def size(self) -> int:
        return max(self.network.num_addresses - 2, 0)

    def allocate(self, uid: str, wanted: str | None = None) -> str:
        """The address of pod ``uid``: its existing one, ``wanted`` if free, else the next free.

        Raises PodIpsExhausted when every address is taken.
        """
        for ip, owner in self._owners.items():
            if owner == uid:
                return ip
        if wanted and wanted not in self._owners and self.contains(wanted):
            self._owners[wanted] = uid
            return wanted
        # Round-robin from the last hand-out, so a just-released address (which
        # a client may still be connected to) is not reused at once.
        for step in range(self.size):
            index = (self._next + step) % self.size
            ip = self._host(index)
            if ip not in self._owners and ip != "127.0.0.1":
                self._owners[ip] = uid
                self._next = (index + 1) % self.size
                return ip
        raise PodIpsExhausted(f"all pod IPs of {self.network} are in use")

    def contains(self, ip: str) -> bool:
        """Whether ``ip`` is an address this allocator hands out."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        network = self.network
        return (
            address in network
            and address not in (network.network_address, network.broadcast_address)
            and ip != "127.0.0.1"
        )

    def release(self, uid: str) -> None:
        """Free the address of pod ``uid`` (nothing if it has none)."""
        for ip, owner in list(self._owners.items()):
            if owner == uid:
                del self._owners[ip]

    def in_use(self) -> dict[str, str]:
        """Addresses in use, by address: the pod uid holding each."""
        return dict(self._owners)
