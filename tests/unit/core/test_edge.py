"""core/edge.py: the real collaborators by default, replaced as a whole by a test and put back."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.core.clock import utcnow
from chalicelib.core.edge import Edge, edge, use_edge


def test_the_edge_is_made_once_with_the_real_clock():
    assert edge() is edge()
    assert edge().clock is utcnow


def test_a_replaced_edge_is_seen_inside_the_block_and_the_previous_one_after_it():
    before = edge()
    moment = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with use_edge(Edge(clock=lambda: moment)) as replaced:
        assert edge() is replaced and edge().clock() == moment
        with use_edge(Edge()):
            assert edge().clock is utcnow
        assert edge() is replaced
    assert edge() is before


def test_the_previous_edge_comes_back_when_the_block_raises():
    before = edge()
    with pytest.raises(RuntimeError), use_edge(Edge(clock=lambda: datetime(2000, 1, 1, tzinfo=UTC))):
        raise RuntimeError("the test failed")
    assert edge() is before


def test_an_edge_is_replaced_whole_never_changed_in_place():
    with pytest.raises(AttributeError):
        edge().clock = utcnow  # frozen
