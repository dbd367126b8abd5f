"""Everything the local platform runs listens on loopback only, Airflow's log servers included.

The listening TCP sockets come from the kernel, not from the services' configs: the inodes of the
sockets each platform process holds (``/proc/<pid>/fd``), looked up in ``/proc/net/tcp`` and
``/proc/net/tcp6``. Processes: every service's process and all its descendants (the scheduler's
and the triggerer's log servers are child processes).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.services

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp*
# Airflow's log servers: [logging] worker_log_server_port and trigger_log_server_port (defaults;
# the platform does not set them).
LOG_SERVER_PORTS = {8793: "scheduler's log server", 8794: "triggerer's log server"}


def decode_address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``0100007F`` -> 127.0.0.1: the kernel prints each 32-bit word of the address in host order."""
    raw = bytes.fromhex(hex_address)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(raw)


def listening_sockets() -> dict[int, tuple[str, int]]:
    """inode -> (address, port) of every listening TCP socket of this network namespace."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            local, state, inode = cols[1], cols[3], int(cols[9])
            if state == LISTEN:
                address, port = local.split(":")
                found[inode] = (str(decode_address(address)), int(port, 16))
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def test_address_decoding():
    assert decode_address("0100007F" if sys.byteorder == "little" else "7F000001") == ipaddress.ip_address("127.0.0.1")
    assert str(decode_address("00000000000000000000000000000000")) == "::"
    assert not is_loopback("0.0.0.0") and not is_loopback("::")  # noqa: S104 - addresses, bound by nothing
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")


def test_every_listener_of_the_platform_is_loopback(airflow):
    processes: dict[int, str] = {}
    for service in airflow.services:
        proc = service.process()
        if proc is None:
            continue
        for p in [proc, *proc.children(recursive=True)]:
            processes[p.pid] = service.name
    assert {"zookeeper", "kafka", "minio", "postgres", "airflow-scheduler", "airflow-triggerer"} <= set(
        processes.values()
    )
    sockets = listening_sockets()
    listeners = []  # (service, pid, address, port)
    for pid, service in processes.items():
        try:
            inodes = socket_inodes(pid)
        except (FileNotFoundError, ProcessLookupError, psutil.NoSuchProcess):
            continue  # exited since it was listed
        listeners += [(service, pid, *sockets[i]) for i in inodes if i in sockets]

    exposed = [entry for entry in listeners if not is_loopback(entry[2])]
    assert not exposed, f"listening beyond loopback (service, pid, address, port): {exposed}"
    ports = {port: service for service, _pid, _address, port in listeners}
    for port, what in LOG_SERVER_PORTS.items():  # the check sees the log servers it is about
        assert port in ports, f"no listener on {port} ({what}) among the platform's processes: {sorted(ports)}"
    cfg_ports = {getattr(airflow.cfg.ports, name) for name in ("zookeeper", "kafka", "minio", "postgres", "airflow")}
    assert cfg_ports <= set(ports), f"missing service ports: {sorted(cfg_ports - set(ports))}"
