"""The span every line carries: low, expected and high, added and scaled together."""

from __future__ import annotations

from shared.cost.lines import Span


def test_span_arithmetic():
    assert Span(1, 2, 3) * 2 + Span.fixed(1) == Span(3, 5, 7)
