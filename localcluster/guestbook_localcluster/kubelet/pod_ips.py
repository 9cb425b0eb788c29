"""Pod IPs: one loopback address per pod, from a range of 127.0.0.0/8.

Linux routes all of 127.0.0.0/8 to the loopback interface, so a process can
bind any of those addresses without configuring anything; two pods can then
listen on the same port, as pods with their own network namespaces can.
127.0.0.1 is the node's own address (hostIP) and is never handed out.

Several kubelets may run on one machine (`make demo` beside `make test`, the
test of `dev` beside the session's cluster): each claims a range of its own,
127.N.0.0/16, by holding a lock file for N (:class:`PodRangeClaim`), so that
their pods never share an address and port.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import tempfile
from pathlib import Path

DEFAULT_RANGE = "127.1.0.0/16"
# Lock files of the claimed ranges: one folder for the whole machine, every user.
CLAIMS_DIR = Path(tempfile.gettempdir()) / "guestbook-ledger-pod-ranges"


class PodRangeClaim:
    """A pod range 127.N.0.0/16 that no other kubelet on this machine holds.

    :meth:`take` locks the file ``N.lock`` for the lowest free N (1 to 254; 0
    holds the node's address) until :meth:`release` or the process ends,
    passing over ranges where something listens already (a kubelet of an
    older version, another program). Raises PodIpsExhausted when all are held.
    """

    def __init__(self, cidr: str, fd: int) -> None:
        self.cidr = cidr
        self._fd: int | None = fd

    @classmethod
    def take(cls, folder: Path = CLAIMS_DIR, busy: set[int] | None = None) -> PodRangeClaim:
        """``busy``: the N to pass over (default: where something listens now)."""
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(PermissionError):  # another user's folder
            folder.chmod(0o1777)
        busy = loopback_ranges_listening() if busy is None else busy
        for n in range(1, 255):
            if n in busy:
                continue
            path = folder / f"{n}.lock"
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o444)
            except PermissionError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(f"127.{n}.0.0/16", fd)
        raise PodIpsExhausted(f"every pod range 127.N.0.0/16 is held by a kubelet (see {folder})")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def listening_second_octets(proc_net_tcp: str) -> set[int]:
    """N of every 127.N.x.y that a TCP socket listens on, from /proc/net/tcp's text."""
    found = set()
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != "0A":  # 0A: LISTEN
            continue
        address = int(fields[1].split(":")[0], 16).to_bytes(4, "little")  # host byte order
        if address[0] == 127:
            found.add(address[1])
    return found


def loopback_ranges_listening() -> set[int]:
    """:func:`listening_second_octets` of this machine (empty where /proc is missing)."""
    try:
        return listening_second_octets(Path("/proc/net/tcp").read_text())
    except OSError:
        return set()


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
