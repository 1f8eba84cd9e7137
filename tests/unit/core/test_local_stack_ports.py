import socket

import pytest

from infra.local.stack import PortInUse, ensure_port_free


def test_a_taken_port_gives_a_clear_message():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} .* already in use"):
            ensure_port_free("127.0.0.1", port)


def test_a_free_port_passes():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ensure_port_free("127.0.0.1", port)
