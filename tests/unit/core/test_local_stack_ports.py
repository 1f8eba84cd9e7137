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


def test_a_port_a_crashed_stack_left_in_time_wait_passes():
    """The API's own end of a closed connection sits in TIME_WAIT for a minute; `make dev`
    must start again at once (the server binds with SO_REUSEADDR, so the probe does too)."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server binds
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as peer:
            accepted, _ = server.accept()
            accepted.close()  # the server side closes first: its end goes to TIME_WAIT
            peer.recv(1)
    ensure_port_free("127.0.0.1", port)
