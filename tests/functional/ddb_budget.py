"""Routes measured one at a time against the DynamoDB call budget (DESIGN.md: every route
<= 4 calls, auth included; no Scan in a request path), with the `ddb_calls` fixture."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class CallBudget:
    def __init__(self, ddb_calls: list[str], budget: int) -> None:
        self.ddb_calls, self.budget = ddb_calls, budget
        self.spent: list[tuple[str, int, list[str]]] = []

    def measure(self, label: str, expected: int, call: Callable[[], Any]) -> None:
        """Make one request, check its status, and keep the DynamoDB calls it made."""
        self.ddb_calls.clear()
        answer = call()
        status = answer.status if hasattr(answer, "status") else answer.status_code
        assert status == expected, (label, getattr(answer, "body", None))
        self.spent.append((label, len(self.ddb_calls), list(self.ddb_calls)))

    def check(self, request: Any, title: str) -> None:
        """Print and record what each route spent, then hold every one to the budget."""
        spent = self.spent
        report = "\n".join(f"{label:40} {count}  {' '.join(calls)}" for label, count, calls in spent)
        print(f"\n{title}:\n" + report)
        request.node.user_properties.append(("ddb_calls", json.dumps(spent)))
        assert all("Scan" not in calls for _, _, calls in spent), report
        assert all(count <= self.budget for _, count, _ in spent), report
