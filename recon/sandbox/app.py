"""What the sandbox answers: one request in, one ``Response`` out, no HTTP plumbing here.

A request to ``/api/billing/<stem>`` goes through, in order: authentication
(401), throttling (409), fault injection, routing (404, 405), the role check
(401) and the handler. ``/api/token`` needs no credentials and is not
throttled. All state (tables, counters, the fault draw, mutations) changes
under one lock, so concurrent requests see each change whole.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..entities import CREDIT, CREDIT_USE, ENTITIES, Entity
from . import query
from .auth import DENIED, Accounts
from .config import SandboxConfig, resolve_entity, stem_entity
from .store import NO_ID, EntityTable, dumps, load
from .throttle import Throttle

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
ERROR_BODY = dumps({"Message": "An error has occurred."})
HTML_BODY = b"<html><body>Service Unavailable</body></html>"


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as on the request line
    headers: Mapping[str, str]  # case-insensitive lookups (http.server's headers are)
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: tuple[tuple[str, str], ...] = ()
    action: str | None = None
    """``"reset"``: close the connection without answering; ``"truncate"``: send the
    headers with the full Content-Length, then half the body, then close."""
    trickle: float = 0.0
    """Seconds between the body's bytes (0: all at once)."""


@dataclass(frozen=True)
class MutationEvent:
    """One change to a table while the sandbox served it."""

    entity: str
    """The entity's name, e.g. ``CoworkerBookingCreditUseHistory``."""
    request: int
    """How many searches of that entity had been answered when it happened."""
    inserted: tuple[int, ...]
    deleted: tuple[int | None, ...]
    """Ids of the records removed (None for a record that had no integer Id)."""
    cause: str
    """``"mutation"`` (the configured ``Mutations``), ``"create"`` (a POST) or
    ``"ledger change"`` (the configured ``LedgerChange``; ``inserted`` then holds the new
    uses, ``changed`` the Ids of the credits and uses changed)."""
    at: str
    """When, UTC."""
    changed: tuple[int, ...] = ()


@dataclass
class Stats:
    """Counters since the sandbox started (a copy: later requests do not change it)."""

    requests: dict[str, Counter[int]] = field(default_factory=dict)
    """Per path (``/api/billing/<stem>``, ``/api/billing/<stem>/{id}``, ``/api/token``),
    responses per HTTP status; 0 counts connections reset without an answer."""
    throttled: int = 0
    """HTTP 409s sent."""
    faults: Counter[str] = field(default_factory=Counter)
    """Faults injected, by kind."""
    tokens_issued: int = 0
    searches: Counter[str] = field(default_factory=Counter)
    """Searches answered in full, per entity name (what ``Mutations.after_requests`` counts)."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(status: int, document: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, dumps(document), JSON, headers)


_UNAUTHORIZED = Response(401, dumps(DENIED), JSON, (("WWW-Authenticate", "Bearer"),))
_NOT_FOUND = Response(404, dumps("Not found"))


class Api:
    """The sandbox's state and its answer to every request."""

    def __init__(self, config: SandboxConfig, closing: threading.Event) -> None:
        self.config = config
        self._closing = closing
        self._lock = threading.RLock()
        self.tables: dict[Entity, EntityTable] = load(config.snapshot)
        self._cache = {entity: query.SearchCache() for entity in ENTITIES}
        self.accounts = Accounts(config)
        self.throttle = Throttle(config.effective_limits)
        self._fault_rng = random.Random(config.faults.seed)
        self._stats = Stats()
        self.log: list[MutationEvent] = []
        mutations = config.mutations
        self._mutated_entity = (
            resolve_entity(mutations.entity) if mutations.entity is not None else None
        )
        self._mutation_done = False
        self._ledger_changed = False
        if self._mutated_entity is not None and mutations.after_requests <= 0:
            self._mutate(0)

    # -- bookkeeping ------------------------------------------------------------------

    def record(self, path_key: str, status: int) -> None:
        with self._lock:
            self._stats.requests.setdefault(path_key, Counter())[status] += 1

    def stats(self) -> Stats:
        with self._lock:
            return Stats(
                requests={path: Counter(counts) for path, counts in self._stats.requests.items()},
                throttled=self._stats.throttled,
                faults=Counter(self._stats.faults),
                tokens_issued=self.accounts.issued,
                searches=Counter(self._stats.searches),
            )

    def records(self, entity: Entity | str) -> list[dict[str, Any]]:
        with self._lock:
            table = self.tables[resolve_entity(entity)]
            return [table.record(index) for index in range(len(table))]

    def mutations_log(self) -> list[MutationEvent]:
        with self._lock:
            return list(self.log)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the sandbox is closing."""
        if seconds > 0:
            self._closing.wait(seconds)

    @staticmethod
    def path_key(target: str) -> str:
        """The path a request counts under in ``Stats.requests`` (Ids folded to ``{id}``)."""
        parts = urlsplit(target).path.rstrip("/").lower().split("/")
        if len(parts) == 5 and parts[1:3] == ["api", "billing"]:
            parts[4] = "{id}"
        return "/".join(parts) or "/"

    # -- the request --------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        self.sleep(self.config.latency)
        split = urlsplit(request.target)
        path = split.path.rstrip("/")
        params: dict[str, str] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            params.setdefault(name, value)
        if path.lower() == "/api/token":
            fault = self._draw_fault() if self.config.faults.on_token else None
            return self._faulty(fault, request, lambda count: self._token(request))
        parts = path.strip("/").split("/")
        if not (3 <= len(parts) <= 4 and [p.lower() for p in parts[:2]] == ["api", "billing"]):
            return self._no_route(request)
        entity = stem_entity(parts[2])
        if entity is None:
            return self._no_route(request)
        account = self.accounts.authenticate(request.headers.get("Authorization"))
        if account is None:
            return _UNAUTHORIZED
        wait = self.throttle.admit(account, write=request.method != "GET")
        if wait is not None:
            with self._lock:
                self._stats.throttled += 1
            status = self.config.throttle_status
            if self.config.throttle_wait_in == "body":
                return _json(status, {"Message": f"Too many requests. Wait {wait} seconds."})
            return Response(status, b"", None, (("Retry-After", str(wait)),))
        fault = self._draw_fault()
        return self._faulty(
            fault,
            request,
            lambda count: self._route(request, entity, parts, params, account, count=count),
        )

    def _faulty(self, fault: str | None, request: Request, answer: Any) -> Response:
        """The answer, spoiled by ``fault`` (None: answered as it should be)."""
        if fault == "500":
            return Response(500, ERROR_BODY)
        if fault == "503":
            return Response(503, HTML_BODY, HTML)
        if fault == "html":
            return Response(200, HTML_BODY, HTML)
        if fault == "reset":
            return Response(0, action="reset")
        if fault == "truncate":
            if request.method != "GET":
                # Faults never change the data: a write is not carried out.
                return Response(200, ERROR_BODY, JSON, action="truncate")
            whole = answer(False)
            return Response(200, whole.body, whole.content_type, whole.headers, "truncate")
        if fault == "slow":
            self.sleep(self.config.faults.slow_seconds)
        return answer(True)

    def _draw_fault(self) -> str | None:
        faults = self.config.faults
        if faults.rate <= 0:
            return None
        with self._lock:
            # Two draws for every request, whatever the first gives: the sequence of
            # faults then depends only on the seed and the order of requests.
            roll = self._fault_rng.random()
            pick = self._fault_rng.randrange(len(faults.fault_kinds))
            if roll >= faults.rate:
                return None
            kind = faults.fault_kinds[pick]
            self._stats.faults[kind] += 1
            return kind

    def _no_route(self, request: Request) -> Response:
        return _json(
            404,
            {
                "Message": f"No HTTP resource was found that matches the request URI "
                f"'{request.target}'."
            },
        )

    def _route(
        self,
        request: Request,
        entity: Entity,
        parts: list[str],
        params: dict[str, str],
        account: str,
        *,
        count: bool,
    ) -> Response:
        method = request.method
        if len(parts) == 4:
            if method != "GET":
                return _not_allowed(method)
            if not self.accounts.allows(f"{entity.name}-Read"):
                return _UNAUTHORIZED
            return self._get_one(entity, parts[3])
        if method == "POST" and entity is CREDIT_USE:
            if not self.accounts.allows(f"{entity.name}-Create"):
                return _UNAUTHORIZED
            return self._create(request.body, account)
        if method != "GET":
            return _not_allowed(method)
        if not self.accounts.allows(f"{entity.name}-List"):
            return _UNAUTHORIZED
        ids = next((value for name, value in params.items() if name.lower() == "id"), None)
        if ids is not None:
            return self._batch(entity, ids)
        return self._search(entity, params, count=count, target=request.target)

    # -- handlers -------------------------------------------------------------------------

    def _get_one(self, entity: Entity, text: str) -> Response:
        try:
            record_id = int(text)
        except ValueError:
            return _NOT_FOUND
        with self._lock:
            table = self.tables[entity]
            rows = table.indices_of(record_id)
            if not rows:
                return _NOT_FOUND
            return Response(200, table.blobs[rows[0]])

    def _batch(self, entity: Entity, text: str) -> Response:
        ids = query.parse_id_list(text)
        if ids is None:
            return _json(400, {"Message": "The request is invalid."})
        with self._lock:
            table = self.tables[entity]
            blobs = [table.blobs[i] for record_id in ids for i in table.indices_of(record_id)]
        return Response(200, b"[" + b",".join(blobs) + b"]")

    def _search(
        self, entity: Entity, params: dict[str, str], *, count: bool, target: str = ""
    ) -> Response:
        with self._lock:
            change = self.config.ledger_change
            if (
                count
                and change.credits > 0
                and not self._ledger_changed
                and entity is resolve_entity(change.entity)
                and self._stats.searches[entity.name] + 1 >= change.at_search
            ):
                self._change_ledger()
            hostile = self.config.hostile
            hostile_now = hostile.applies(entity, self._stats.searches[entity.name])
            if hostile_now and hostile.redirect is not None:
                if count:
                    self._stats.searches[entity.name] += 1
                location = hostile.redirect.rstrip("/") + target
                return Response(hostile.redirect_status, b"", None, (("Location", location),))
            table = self.tables[entity]
            search = query.parse_search(
                entity,
                params,
                table,
                convention=query.convention_of(entity, self.config.dir_convention),
                honour_id_range=self.config.honour_id_range,
            )
            if search.related:
                if self.config.related_filters == "reject":
                    if count:
                        self._stats.searches[entity.name] += 1
                    return _json(400, {"Message": "The request is invalid."})
                joined = (
                    ()
                    if self.config.related_filters == "ignore"
                    else tuple(
                        query.resolve_related(item, self.tables[item.entity])
                        for item in search.related
                    )
                )
                search = dataclasses.replace(search, filters=search.filters + joined, related=())
            if hostile_now and 0 < hostile.serve_size < search.size:
                search = dataclasses.replace(search, size=hostile.serve_size)
            total, page = query.select(table, search, self._cache[entity])
            if count:
                self._stats.searches[entity.name] += 1
                if (
                    entity is self._mutated_entity
                    and not self._mutation_done
                    and self._stats.searches[entity.name] >= self.config.mutations.after_requests
                ):
                    self._mutate(self._stats.searches[entity.name])
            if hostile_now:
                return _hostile_page(hostile, table, search, total, page)
        return Response(200, query.envelope(search, total, page))

    def _change_ledger(self) -> None:
        """Apply the configured ``LedgerChange`` once (the caller holds the lock)."""
        self._ledger_changed = True
        change = self.config.ledger_change
        credits, uses = self.tables[CREDIT], self.tables[CREDIT_USE]
        credit_ids = credits.column("Id")
        use_credit = uses.column("CoworkerBookingCreditId")
        used = uses.column("CreditUsed")
        sums: dict[Any, float] = {}
        rows: dict[Any, list[int]] = {}
        for index, (credit_id, amount) in enumerate(zip(use_credit, used, strict=True)):
            if _is_number(amount):
                sums[credit_id] = sums.get(credit_id, 0.0) + amount
                rows.setdefault(credit_id, []).append(index)
        balanced = []
        for index, credit_id in enumerate(credit_ids):
            record = credits.record(index)
            total, remaining = record.get("TotalCredit"), record.get("RemainingCredit")
            if (
                credit_id in rows
                and _is_number(total)
                and _is_number(remaining)
                and abs(total - remaining - sums[credit_id]) < 0.001
                and remaining >= 1
            ):
                balanced.append(index)
        rng = random.Random(change.seed)
        chosen = sorted(rng.sample(balanced, min(change.credits, len(balanced))))
        now = utc_now()
        inserted, changed = [], []
        for index in chosen:
            credit = credits.record(index)
            use_index = rows[credit["Id"]][0]
            use = uses.record(use_index)
            use.update(CreditUsed=use["CreditUsed"] + 0.25, UpdatedOn=now)
            uses.replace(use_index, use)
            new = dict(use, Id=uses.next_id, CreditUsed=0.25, CreatedOn=now, UpdatedOn=now)
            new["UniqueId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            uses.append(new)
            credit.update(RemainingCredit=credit["RemainingCredit"] - 0.5, UpdatedOn=now)
            credits.replace(index, credit)
            inserted.append(new["Id"])
            changed += [credit["Id"], use["Id"]]
        self.log.append(
            MutationEvent(
                CREDIT_USE.name,
                self._stats.searches[CREDIT_USE.name],
                tuple(inserted),
                (),
                "ledger change",
                now,
                tuple(changed),
            )
        )

    def _mutate(self, request_number: int) -> None:
        """Apply the configured ``Mutations`` once (the caller holds the lock or is __init__)."""
        mutations = self.config.mutations
        entity = self._mutated_entity
        assert entity is not None
        self._mutation_done = True
        table = self.tables[entity]
        rng = random.Random(mutations.seed)
        existing = len(table)
        doomed = rng.sample(range(existing), min(mutations.deletes, existing))
        sources = (
            [table.record(rng.randrange(existing)) for _ in range(mutations.inserts)]
            if existing
            else []
        )
        deleted = tuple(None if table.keys[i] == NO_ID else int(table.keys[i]) for i in doomed)
        table.delete(doomed)
        now = utc_now()
        inserted = []
        for source in sources:
            record = dict(source)
            record["Id"] = table.next_id
            record["UniqueId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            record["CreatedOn"] = now
            record["UpdatedOn"] = now
            table.append(record)
            inserted.append(record["Id"])
        self.log.append(
            MutationEvent(entity.name, request_number, tuple(inserted), deleted, "mutation", now)
        )

    def _create(self, body: bytes, account: str) -> Response:
        try:
            data = json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict):
            return self._rejected([("", None, "The request body must be a JSON object")])
        errors: list[tuple[str, Any, str]] = []
        credit_id = data.get("CoworkerBookingCreditId")
        with self._lock:
            credits = self.tables[CREDIT]
            if credit_id is None or credit_id == 0:
                # 0 is what the API's integer binding makes of a missing value.
                errors.append(("CoworkerBookingCreditId", credit_id, "is a required field"))
            elif not _is_int(credit_id):
                errors.append(("CoworkerBookingCreditId", credit_id, "is not a valid integer"))
            elif not credits.indices_of(credit_id):
                errors.append(
                    (
                        "CoworkerBookingCreditId",
                        credit_id,
                        "does not match any CoworkerBookingCredit",
                    )
                )
        credit_used = data.get("CreditUsed")
        if credit_used is None:
            errors.append(("CreditUsed", None, "is a required field"))
        elif not _is_number(credit_used):
            errors.append(("CreditUsed", credit_used, "is not a valid number"))
        for name in ("BookingId", "CoworkerInvoiceLineId", "EventAttendeeId"):
            if data.get(name) is not None and not _is_int(data[name]):
                errors.append((name, data[name], "is not a valid integer"))
        description = data.get("Description")
        if description is not None and not isinstance(description, str):
            errors.append(("Description", description, "is not a valid text"))
        if errors:
            return self._rejected(errors)
        now = utc_now()
        with self._lock:
            table = self.tables[CREDIT_USE]
            new_id = table.next_id
            table.append(_new_use(data, new_id, now, account))
            self.log.append(
                MutationEvent(
                    CREDIT_USE.name,
                    self._stats.searches[CREDIT_USE.name],
                    (new_id,),
                    (),
                    "create",
                    now,
                )
            )
        return _json(
            200,
            {
                "Status": 200,
                "Message": f"{CREDIT_USE.name} was successfully created.",
                "Value": {"Id": new_id},
                "OpenInDialog": False,
                "OpenInWindow": False,
                "RedirectURL": None,
                "JavaScript": None,
                "UpdatedOn": now,
                "UpdatedBy": account,
                "Errors": None,
                "WasSuccessful": True,
            },
        )

    def _rejected(self, errors: list[tuple[str, Any, str]]) -> Response:
        status = 200 if self.config.validation_as_200 else 400
        return _json(
            status,
            {
                "Message": ", ".join(
                    f"{name}: {text}" if name else text for name, _, text in errors
                ),
                "Value": None,
                "Errors": [
                    {"AttemptedValue": value, "Message": text, "PropertyName": name}
                    for name, value, text in errors
                ],
                "WasSuccessful": False,
            },
        )

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return _not_allowed(request.method)
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            # The real endpoint reads a form only: a JSON body carries no grant_type for it.
            return _json(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Send the token request form-encoded "
                    "(application/x-www-form-urlencoded), not as JSON.",
                },
            )
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return _json(400, {"error": "invalid_request"})
        form: dict[str, str] = {}
        for name, value in parse_qsl(text, keep_blank_values=True):
            form.setdefault(name, value)
        client_id = request.headers.get("client_id") or form.get("client_id")
        answer = self.accounts.grant(form, client_id)
        return _json(answer.status, answer.body)


def _hostile_page(
    hostile: Any, table: EntityTable, search: query.Search, total: int, page: list[bytes]
) -> Response:
    """The page as ``hostile`` spoils it (see ``config.Hostile``)."""
    if hostile.endless and len(page) < search.size and len(table) and not search.descending:
        page = page + _made_up(table, search, total, search.size - len(page))
    if hostile.body is not None:
        records = b"[" + b",".join(page) + b"]"
        body = {
            "null": b"null",
            "list": records,
            "number": b"42",
            "string": b'"OK"',
            "records-null": b'{"Records":null,"TotalItems":' + str(total).encode() + b"}",
            "records-object": b'{"Records":{},"TotalItems":' + str(total).encode() + b"}",
        }[hostile.body]
        return Response(200, body, JSON, trickle=hostile.trickle)
    claimed = math.floor(total * hostile.total_items_scale)
    if hostile.total_items_at_most is not None:
        claimed = min(claimed, hostile.total_items_at_most)
    body = query.envelope(search, claimed, page)
    if hostile.padding:
        body = body[:-1] + b',"Padding":"' + b"x" * hostile.padding + b'"}'
    return Response(200, body, JSON, trickle=hostile.trickle)


def _made_up(table: EntityTable, search: query.Search, total: int, count: int) -> list[bytes]:
    """``count`` records past the last one, with Ids past the highest, for this page."""
    highest = int(max(key for key in table.keys if key != NO_ID))
    template = table.record(len(table) - 1)
    if search.id_low is None and search.id_high is None:
        first = highest + 1 + max(0, (search.page - 1) * search.size - total)
    else:
        first = max(highest + 1, int(search.id_low or 0))
    last = first + count - 1
    if search.id_high is not None:
        last = min(last, int(search.id_high))
    return [
        dumps({**template, "Id": made_up, "UniqueId": str(uuid.UUID(int=made_up, version=4))})
        for made_up in range(first, last + 1)
    ]


def _not_allowed(method: str) -> Response:
    return _json(
        405,
        {"Message": f"The requested resource does not support http method '{method}'."},
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _new_use(data: Mapping[str, Any], new_id: int, now: str, account: str) -> dict[str, Any]:
    """A created CoworkerBookingCreditUseHistory, fields in the API's order."""
    return {
        "Description": data.get("Description"),
        "CoworkerBookingCreditId": data["CoworkerBookingCreditId"],
        "BookingId": data.get("BookingId"),
        "BookingFromTime": None,
        "BookingToTime": None,
        "BookingResourceName": None,
        "CoworkerInvoiceLineId": data.get("CoworkerInvoiceLineId"),
        "CoworkerInvoiceLineCoworkerInvoiceId": None,
        "CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber": None,
        "EventAttendeeId": data.get("EventAttendeeId"),
        "EventAttendeeCalendarEventName": None,
        "EventAttendeeEventProductName": None,
        "EventAttendeeFullName": None,
        "EventAttendeeEmail": None,
        "CreditUsed": data["CreditUsed"],
        "Id": new_id,
        "UpdatedOn": now,
        "CreatedOn": now,
        "UniqueId": str(uuid.uuid4()),
        "UpdatedBy": account,
        "IsNew": False,
        "SystemId": None,
        "ToStringText": f"{CREDIT_USE.name} {new_id}",
        "LocalizationDetails": None,
        "CustomFields": None,
    }
