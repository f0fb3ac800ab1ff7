"""A fake Nexudus API as a plain function, for ``httpx.MockTransport``.

Enough of the API for the fetcher's unit tests: search with paging, Id order
in either ``dir`` convention, Id range filters (which a test may make it
ignore), TotalItems, a hook that changes the table between requests, and a
log of what was asked. The real-HTTP simulator (``recon.sandbox``) covers the
rest, over sockets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from recon.entities import ENTITIES


@dataclass
class FakeApi:
    records: dict[str, list[dict[str, Any]]]
    """Records by entity stem."""
    ascending_dir: int = 1
    """The ``dir`` value this server reads as ascending; the other known value is descending."""
    honour_id_ranges: bool = True
    ignore_order: bool = False
    page_cap: int = 1000
    before_request: Callable[[FakeApi, httpx.Request], httpx.Response | None] | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before_request is not None:
            answer = self.before_request(self, request)
            if answer is not None:
                return answer
        if request.url.path == "/api/token":
            return httpx.Response(200, json={"access_token": "issued", "refresh_token": "r"})
        stem = request.url.path.rsplit("/", 1)[-1]
        entity = next(e for e in ENTITIES if e.stem == stem)
        query = {key: values[-1] for key, values in parse_qs(request.url.query.decode()).items()}
        rows = sorted(self.records.get(stem, []), key=lambda r: r["Id"])
        if self.honour_id_ranges:
            if f"from_{entity.name}_Id" in query:
                rows = [r for r in rows if r["Id"] >= int(query[f"from_{entity.name}_Id"])]
            if f"to_{entity.name}_Id" in query:
                rows = [r for r in rows if r["Id"] <= int(query[f"to_{entity.name}_Id"])]
        direction = int(query.get("dir", self.ascending_dir))
        if direction != self.ascending_dir and not self.ignore_order:
            rows = rows[::-1]
        if self.ignore_order:
            rows = rows[1::2] + rows[0::2]  # a stable order that is not Id order
        size = min(int(query.get("size", 25)), self.page_cap)
        page = int(query.get("page", 1))
        chunk = rows[(page - 1) * size : page * size]
        envelope = {
            "Records": chunk,
            "CurrentPage": page,
            "CurrentPageSize": size,
            "CurrentOrderField": query.get("orderBy"),
            "CurrentSortDirection": direction,
            "TotalItems": len(rows),
            "TotalPages": -(-len(rows) // size),
            "HasNextPage": page * size < len(rows),
        }
        return httpx.Response(200, content=json.dumps(envelope, indent=1).encode())

    def searches(self, stem: str) -> list[dict[str, str]]:
        return [
            {key: values[-1] for key, values in parse_qs(r.url.query.decode()).items()}
            for r in self.requests
            if r.url.path.endswith(stem)
        ]
