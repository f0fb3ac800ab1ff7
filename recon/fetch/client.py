"""The Nexudus REST API, for the four billing entities: search, get one, batch get, create.

Only the transport touches the network, and it is a constructor argument
(tests pass ``httpx.MockTransport``). Every request goes through the rate
limiter and the retry policy, and through ``NexudusAuth``, which signs in and
refreshes the token. Errors come back as recon's exceptions with one-line
messages that never hold a secret.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

from .._version import __version__
from ..entities import CREDIT_USE, Entity
from ..errors import AccessDenied, ApiUnavailable, CreateRejected
from ..nexudus import MAX_PAGE_SIZE
from . import pages
from .auth import NexudusAuth, TokenEndpointUnavailable
from .credentials import Credentials, redact
from .limits import DOCUMENTED_WRITES, RateLimiter
from .retry import THROTTLED, RetryPolicy, retry_after

T = TypeVar("T")


class BadBody(Exception):
    """A 200 whose body is not what the endpoint returns (truncated, HTML, another shape)."""


@dataclass(frozen=True)
class Page:
    """One search page: its raw body (kept as fetched) and what the walk needs from it."""

    body: bytes
    ids: np.ndarray
    """int64 Ids of the records, in the order returned (records without an integer Id left out)."""
    count: int
    """How many records the page holds."""
    total_items: int | None
    sort_direction: Any
    records: pa.Table | None = None
    """The records, typed, when the search asked for them (``records_schema``) and the page
    fits; else None."""


class NexudusClient:
    """A client of one Nexudus account; safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
        write_limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter()
        self.write_limiter = write_limiter or RateLimiter(DOCUMENTED_WRITES)
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._secrets = credentials.secrets()
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=NexudusAuth(credentials, f"{self.base_url}/api/token"),
            transport=transport,
            timeout=self.retry.timeout,
            headers={"User-Agent": f"recon/{__version__}", "Accept": "application/json"},
            # The limiter paces the moment a request goes out, as close to the wire as
            # httpx lets us: the API counts arrivals, and work done between taking a slot
            # and sending (signing in, building the request) would bunch them up.
            event_hooks={"request": [self._pace]},
        )

    def __enter__(self) -> NexudusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the endpoints ----------------------------------------------------------------------

    def search(
        self,
        entity: Entity,
        *,
        page: int = 1,
        size: int = MAX_PAGE_SIZE,
        order_by: str = "Id",
        direction: int | None = None,
        filters: Mapping[str, str] | None = None,
        records_schema: pa.Schema | None = None,
    ) -> Page:
        """One page of ``entity``'s records matching ``filters``; with ``records_schema``
        (the declared fields' types) its records typed too, in the same parse."""
        params: dict[str, Any] = {
            "page": page,
            "size": min(size, MAX_PAGE_SIZE),
            "orderBy": order_by,
        }
        if direction is not None:
            params["dir"] = direction
        params.update(filters or {})
        return self._send(
            "GET",
            _path(entity),
            entity=entity,
            role=f"{entity.name}-List",
            params=params,
            parse=_parse_page if records_schema is None else _typed_page_parser(records_schema),
        )

    def get(self, entity: Entity, record_id: int) -> dict[str, Any] | None:
        """One record by Id, or None when the API does not know it."""
        return self._send(
            "GET",
            f"{_path(entity)}/{int(record_id)}",
            entity=entity,
            role=f"{entity.name}-Read",
            parse=_parse_object,
            missing=None,
        )

    def get_many(self, entity: Entity, ids: Iterable[int]) -> list[dict[str, Any]]:
        """The records of ``ids`` that exist (the batch endpoint answers a bare array)."""
        listed = "[" + ",".join(str(int(record_id)) for record_id in ids) + "]"
        return self._send(
            "GET",
            _path(entity),
            entity=entity,
            role=f"{entity.name}-List",
            params={"id": listed},
            parse=_parse_array,
        )

    def create_use(self, record: Mapping[str, Any]) -> int:
        """Create a CoworkerBookingCreditUseHistory; returns its new Id."""
        return self._send(
            "POST",
            _path(CREDIT_USE),
            entity=CREDIT_USE,
            role=f"{CREDIT_USE.name}-Create",
            json_body=dict(record),
            parse=_parse_created,
            refused=_refusal,
        )

    # --- one request, with limits, retries and error mapping -------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        entity: Entity,
        role: str,
        parse: Callable[[httpx.Response], T],
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        missing: Any = BadBody,
        refused: Callable[[Entity, httpx.Response], Exception] | None = None,
    ) -> T:
        failures = throttled = 0
        while True:
            self._count("requests")
            try:
                response = self._http.request(method, path, params=params, json=json_body)
            except (httpx.TimeoutException, httpx.TransportError, TokenEndpointUnavailable) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                status = response.status_code
                if status in THROTTLED:
                    throttled += 1
                    self._count("throttled")
                    if throttled > self.retry.throttled_waits:
                        raise ApiUnavailable(
                            self._final(method, path, throttled, f"HTTP {status} (throttled)")
                        )
                    self.limiter.defer(retry_after(response))
                    continue
                if status == 401:
                    raise AccessDenied(entity.name, role)
                if status == 404 and missing is not BadBody:
                    return missing
                if status == 400 and refused is not None:
                    raise refused(entity, response)
                if 400 <= status < 500:
                    raise ApiUnavailable(
                        self._final(
                            method, path, 1, f"HTTP {status}: {_excerpt(response)}", retried=False
                        )
                    )
                if status < 300:
                    try:
                        return parse(response)
                    except BadBody as exc:
                        problem = f"unusable body ({exc})"
                    except CreateRejected:
                        raise
                else:
                    problem = f"HTTP {status}"
            failures += 1
            self._count("failures")
            if failures >= self.retry.attempts:
                raise ApiUnavailable(self._final(method, path, failures, problem))
            self.retry.sleep(self.retry.backoff_for(failures))

    def _pace(self, request: httpx.Request) -> None:
        self.limiter.acquire()
        if request.method not in ("GET", "HEAD"):
            self.write_limiter.acquire()

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self.stats[name] += 1

    def _final(
        self, method: str, path: str, tries: int, problem: str, *, retried: bool = True
    ) -> str:
        what = f"{tries} tries failed" if retried else "refused"
        text = (
            f"{method} {self.base_url}{path}: {what}; last: {problem}; "
            "what was fetched is kept: run the same command again to resume"
        )
        return redact(text, self._secrets)


def _path(entity: Entity) -> str:
    return f"/api/billing/{entity.stem}"


_PAGE_SCHEMA = pa.schema(
    [
        ("Records", pa.list_(pa.struct([("Id", pa.int64())]))),
        ("TotalItems", pa.int64()),
        ("CurrentSortDirection", pa.int64()),
    ]
)


def _one_line(body: bytes) -> bytes:
    """The body on one line, as JSON Lines need (a newline outside a string is only
    whitespace, and inside one it is escaped); compact JSON is returned as it is."""
    if b"\n" in body or b"\r" in body:
        return body.replace(b"\r", b" ").replace(b"\n", b" ")
    return body


def _typed_page_parser(declared: pa.Schema) -> Callable[[httpx.Response], Page]:
    def parse(response: httpx.Response) -> Page:
        line = _one_line(response.content)
        envelopes = pages.typed_envelopes(pa.py_buffer(line), declared)
        if envelopes is None or envelopes.num_rows != 1 or envelopes["Records"].null_count:
            return _parse_page(response)  # Ids only; the snapshot then reads the stored pages
        records = pages.records_of(envelopes, declared)
        ids = records.column("Id")
        if not pa.types.is_integer(ids.type):
            return _parse_page(response)
        total = _first_int(envelopes, "TotalItems")
        direction = (
            envelopes["CurrentSortDirection"][0].as_py()
            if "CurrentSortDirection" in envelopes.column_names
            else None
        )
        return Page(
            line,
            ids.drop_null().to_numpy(),
            records.num_rows,
            total,
            direction,
            records,
        )

    return parse


def _first_int(envelopes: pa.Table, name: str) -> int | None:
    if name not in envelopes.column_names or not pa.types.is_integer(envelopes[name].type):
        return None
    return envelopes[name][0].as_py()


def _parse_page(response: httpx.Response) -> Page:
    """The page's Ids and counts, read by pyarrow (no Python object per record, GIL released)."""
    body = response.content
    line = _one_line(body)
    try:
        table = pajson.read_json(
            pa.BufferReader(line),
            parse_options=pajson.ParseOptions(
                explicit_schema=_PAGE_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
    except pa.ArrowInvalid:
        return _parse_page_slowly(body)
    if table.num_rows != 1 or table["Records"].null_count:
        return _parse_page_slowly(body)
    records = table["Records"].combine_chunks().flatten()
    ids = records.field("Id")
    direction = table["CurrentSortDirection"][0].as_py()
    total = table["TotalItems"][0].as_py()
    return Page(
        line, ids.drop_null().to_numpy(zero_copy_only=False), len(records), total, direction
    )


def _parse_page_slowly(body: bytes) -> Page:
    """The same from ``json``: for pages pyarrow cannot type (an Id that is not an integer)."""
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(f"not JSON: {_excerpt_bytes(body)}") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("Records"), list):
        raise BadBody(f"not a page envelope: {_excerpt_bytes(body)}")
    records = envelope["Records"]
    ids = [r.get("Id") for r in records if isinstance(r, dict)]
    ids = np.array(
        [i for i in ids if isinstance(i, int) and not isinstance(i, bool)], dtype=np.int64
    )
    total = envelope.get("TotalItems")
    line = _one_line(body)
    return Page(
        line,
        ids,
        len(records),
        total if isinstance(total, int) else None,
        envelope.get("CurrentSortDirection"),
    )


def _parse_object(response: httpx.Response) -> dict[str, Any]:
    value = _json(response)
    if not isinstance(value, dict):
        raise BadBody(f"not a record: {_excerpt(response)}")
    return value


def _parse_array(response: httpx.Response) -> list[dict[str, Any]]:
    value = _json(response)
    if not isinstance(value, list):
        raise BadBody(f"not an array: {_excerpt(response)}")
    return value


def _parse_created(response: httpx.Response) -> int:
    answer = _parse_object(response)
    if answer.get("WasSuccessful") is False:
        raise _refusal(CREDIT_USE, response)
    value = answer.get("Value")
    new_id = value.get("Id") if isinstance(value, dict) else None
    if not isinstance(new_id, int):
        raise BadBody(f"no Value.Id in {_excerpt(response)}")
    return new_id


def _refusal(entity: Entity, response: httpx.Response) -> CreateRejected:
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    errors = answer.get("Errors") if isinstance(answer, dict) else None
    pairs = [
        (str(error.get("PropertyName", "")), str(error.get("Message", "")))
        for error in errors or []
        if isinstance(error, dict)
    ]
    message = answer.get("Message", "") if isinstance(answer, dict) else ""
    return CreateRejected(entity.name, pairs, str(message or f"HTTP {response.status_code}"))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(f"not JSON: {_excerpt(response)}") from exc


def _excerpt(response: httpx.Response) -> str:
    return _excerpt_bytes(response.content)


def _excerpt_bytes(body: bytes) -> str:
    text = body[:80].decode("utf-8", "replace")
    text = " ".join(text.split())
    return repr(text + ("…" if len(body) > 80 else "")) if text else "an empty body"
