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
import time
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
from .errors import KEPT, FilterRejected, Redirected, ResponseTooLarge
from .limits import DOCUMENTED_WRITES, RateLimiter
from .options import MAX_RESPONSE_BYTES
from .retry import THROTTLED, RetryPolicy, retry_after

T = TypeVar("T")


class BadBody(Exception):
    """A 200 whose body is not what the endpoint returns (truncated, HTML, another shape)."""


class _DeadlinePassed(Exception):
    """The answer did not come whole within the deadline per request (retried)."""


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
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.max_response_bytes = max_response_bytes
        self.on_retry = on_retry
        """Told of every retry and throttled wait, one line each (a terminal shows them)."""
        self.limiter = limiter or RateLimiter()
        self.write_limiter = write_limiter or RateLimiter(DOCUMENTED_WRITES)
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._secrets = credentials.secrets()
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=NexudusAuth(credentials, f"{self.base_url}/api/token"),
            transport=transport,
            # No single read may outlast the deadline of the whole request.
            timeout=min(self.retry.timeout, self.retry.deadline),
            follow_redirects=False,
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

        def rejected(entity: Entity, body: bytes, status: int) -> FilterRejected:
            problem = f"HTTP {status}: {_excerpt_bytes(body)}"
            return FilterRejected(
                self._final(
                    entity,
                    "GET",
                    _path(entity),
                    1,
                    problem,
                    retried=False,
                    advice="check the --filter names and values",
                )
            )

        return self._send(
            "GET",
            _path(entity),
            entity=entity,
            role=f"{entity.name}-List",
            params=params,
            parse=_parse_page if records_schema is None else _typed_page_parser(records_schema),
            refused=rejected,
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
        parse: Callable[[bytes], T],
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        missing: Any = BadBody,
        refused: Callable[[Entity, bytes, int], Exception] | None = None,
    ) -> T:
        failures = throttled = refusals = 0
        while True:
            self._count("requests")
            try:
                status, headers, body = self._exchange(method, path, params, json_body, entity)
            except httpx.ConnectError as exc:
                # Nothing listens there (or the name does not resolve): a server that is
                # down for a moment comes back soon, a wrong --base-url never does.
                refusals += 1
                problem = f"cannot connect ({_describe(exc)})"
                if refusals >= self.retry.connect_attempts:
                    raise ApiUnavailable(
                        self._final(
                            entity,
                            method,
                            path,
                            refusals,
                            problem,
                            advice="check --base-url and that the API is up, then run again",
                        )
                    ) from exc
            except (httpx.TimeoutException, httpx.TransportError, TokenEndpointUnavailable) as exc:
                problem = _describe(exc)
            except _DeadlinePassed as exc:
                problem = str(exc)
            else:
                if status in THROTTLED:
                    throttled += 1
                    self._count("throttled")
                    if throttled > self.retry.throttled_waits:
                        raise ApiUnavailable(
                            self._final(
                                entity, method, path, throttled, f"HTTP {status} (throttled)"
                            )
                        )
                    wait = retry_after(headers, body)
                    self._notify(f"{entity.name}: HTTP {status} (throttled), waiting {wait:g} s")
                    self.limiter.defer(wait)
                    continue
                if 300 <= status < 400:
                    raise Redirected(self._redirected(entity, method, path, status, headers))
                if status == 401:
                    raise AccessDenied(entity.name, role)
                if status == 404 and missing is not BadBody:
                    return missing
                if status == 400 and refused is not None:
                    raise refused(entity, body, status)
                if 400 <= status < 500:
                    raise ApiUnavailable(
                        self._final(
                            entity,
                            method,
                            path,
                            1,
                            f"HTTP {status}: {_excerpt_bytes(body)}",
                            retried=False,
                        )
                    )
                if status < 300:
                    try:
                        return parse(body)
                    except BadBody as exc:
                        problem = f"HTTP {status} with {exc}"
                    except CreateRejected:
                        raise
                else:
                    problem = f"HTTP {status}"
            failures += 1
            self._count("failures")
            if failures >= self.retry.attempts:
                raise ApiUnavailable(self._final(entity, method, path, failures, problem))
            wait = self.retry.backoff_for(failures)
            self._notify(f"{entity.name}: {problem}; try {failures + 1} in {wait:.1f} s")
            self.retry.sleep(wait)

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        entity: Entity,
    ) -> tuple[int, httpx.Headers, bytes]:
        """One request: (status, headers, body), the body streamed under the size cap and
        the whole exchange under the deadline (httpx's own timeouts are per read, which a
        server sending a byte at a time never trips)."""
        deadline = time.monotonic() + self.retry.deadline
        request = self._http.build_request(method, path, params=params, json=json_body)
        response = self._http.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                raise ResponseTooLarge(
                    self._too_large(entity, method, path, f"announces {int(declared):,} bytes")
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_response_bytes:
                    raise ResponseTooLarge(
                        self._too_large(entity, method, path, f"passed it ({len(body):,} bytes)")
                    )
                if time.monotonic() > deadline:
                    raise _DeadlinePassed(
                        f"no whole answer within the {self.retry.deadline:g} s deadline per "
                        f"request (--request-timeout; {len(body):,} bytes had come)"
                    )
        finally:
            response.close()
        return response.status_code, response.headers, bytes(body)

    def _notify(self, message: str) -> None:
        if self.on_retry is not None:
            self.on_retry(redact(message, self._secrets))

    def _too_large(self, entity: Entity, method: str, path: str, what: str) -> str:
        cap = self.max_response_bytes / 2**20
        return redact(
            f"{entity.name}: {method} {self.base_url}{path}: the answer {what}, over the cap of "
            f"{cap:g} MiB per response (--max-response-mb); a page of {MAX_PAGE_SIZE} records "
            "is a few MiB: check --base-url, or raise --max-response-mb if the API's pages "
            f"really are that large; {KEPT}",
            self._secrets,
        )

    def _redirected(
        self, entity: Entity, method: str, path: str, status: int, headers: httpx.Headers
    ) -> str:
        location = headers.get("Location")
        where = f"pointing to {location}" if location else "with no Location"
        target = httpx.URL(self.base_url).join(location) if location else None
        advice = (
            f"if the API moved, pass --base-url {target.scheme}://{target.netloc.decode()}"
            if target is not None and target.scheme in ("http", "https") and target.host
            else "check --base-url"
        )
        return redact(
            f"{entity.name}: {method} {self.base_url}{path}: the server answered HTTP {status} "
            f"{where}; recon follows no redirect (it could carry the token to another host): "
            f"{advice}; {KEPT}",
            self._secrets,
        )

    def _pace(self, request: httpx.Request) -> None:
        self.limiter.acquire()
        if request.method not in ("GET", "HEAD"):
            self.write_limiter.acquire()

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self.stats[name] += 1

    def _final(
        self,
        entity: Entity,
        method: str,
        path: str,
        tries: int,
        problem: str,
        *,
        retried: bool = True,
        advice: str = "run the same command again to resume",
    ) -> str:
        what = f"{tries} tries failed" if retried else "refused"
        text = (
            f"{entity.name}: {method} {self.base_url}{path}: {what}; last: {problem}; "
            f"{KEPT}: {advice}"
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
    def parse(body: bytes) -> Page:
        if not _looks_like_an_object(body):
            return _parse_page_slowly(body)  # raises BadBody, naming what came
        line = _one_line(body)
        envelopes = pages.typed_envelopes(pa.py_buffer(line), declared)
        if envelopes is None or envelopes.num_rows != 1 or envelopes["Records"].null_count:
            return _parse_page(body)  # Ids only; the snapshot then reads the stored pages
        records = pages.records_of(envelopes, declared)
        ids = records.column("Id")
        if not pa.types.is_integer(ids.type):
            return _parse_page(body)
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


def _looks_like_an_object(body: bytes) -> bool:
    """Whether the body starts as a JSON object. Anything else must never reach pyarrow's
    JSON reader: a body that is ``null`` crashes the process there (pyarrow 26)."""
    return body.lstrip(b" \t\r\n").startswith(b"{")


def _parse_page(body: bytes) -> Page:
    """The page's Ids and counts, read by pyarrow (no Python object per record, GIL released)."""
    if not _looks_like_an_object(body):
        return _parse_page_slowly(body)
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
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadBody(f"a body that is not JSON ({_excerpt_bytes(body)})") from exc
    if not isinstance(envelope, dict):
        raise BadBody(
            f"a body that is not a page envelope but a JSON {_json_kind(envelope)} "
            f"({_excerpt_bytes(body)})"
        )
    if not isinstance(envelope.get("Records"), list):
        raise BadBody(
            f"a page envelope whose Records is a JSON {_json_kind(envelope.get('Records'))}, "
            f"not a list ({_excerpt_bytes(body)})"
        )
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


def _parse_object(body: bytes) -> dict[str, Any]:
    value = _json(body)
    if not isinstance(value, dict):
        raise BadBody(f"a body that is not a record ({_excerpt_bytes(body)})")
    return value


def _parse_array(body: bytes) -> list[dict[str, Any]]:
    value = _json(body)
    if not isinstance(value, list):
        raise BadBody(f"a body that is not an array ({_excerpt_bytes(body)})")
    return value


def _parse_created(body: bytes) -> int:
    answer = _parse_object(body)
    if answer.get("WasSuccessful") is False:
        raise _refusal(CREDIT_USE, body, 200)
    value = answer.get("Value")
    new_id = value.get("Id") if isinstance(value, dict) else None
    if not isinstance(new_id, int):
        raise BadBody(f"no Value.Id in {_excerpt_bytes(body)}")
    return new_id


def _refusal(entity: Entity, body: bytes, status: int) -> CreateRejected:
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        answer = {}
    errors = answer.get("Errors") if isinstance(answer, dict) else None
    pairs = [
        (str(error.get("PropertyName", "")), str(error.get("Message", "")))
        for error in errors or []
        if isinstance(error, dict)
    ]
    message = answer.get("Message", "") if isinstance(answer, dict) else ""
    return CreateRejected(entity.name, pairs, str(message or f"HTTP {status}"))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadBody(f"a body that is not JSON ({_excerpt_bytes(body)})") from exc


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _excerpt_bytes(body: bytes) -> str:
    text = body[:80].decode("utf-8", "replace")
    text = " ".join(text.split())
    return repr(text + ("…" if len(body) > 80 else "")) if text else "an empty body"
