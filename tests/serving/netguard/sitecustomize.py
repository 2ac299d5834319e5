"""Loaded by the server process the end-to-end tests start: refuses any connect beyond loopback
and records the attempt in $NETGUARD_LOG, so a test can prove nothing reached the network."""

import os
import socket

_LOG = os.environ.get("NETGUARD_LOG")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _local(address):
    if isinstance(address, tuple) and address:
        host = str(address[0])
        return host.startswith(("127.", "::1", "localhost")) or host == "0.0.0.0"
    return True  # AF_UNIX


def _refuse(address):
    if _LOG:
        with open(_LOG, "a") as handle:
            handle.write(f"{address!r}\n")
    raise OSError(f"network refused in tests: {address!r}")


def _connect(self, address):
    if not _local(address):
        _refuse(address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    if not _local(address):
        _refuse(address)
    return _real_connect_ex(self, address)


socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
