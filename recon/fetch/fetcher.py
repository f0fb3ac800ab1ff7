"""A fetch: the four billing entities from the Nexudus API into a snapshot directory.

Each entity is walked (``walk.Walk``) with its pages stored as they arrive
(``store.FetchStore``), so an interrupted fetch resumes; when every walk is
complete, what changed meanwhile is re-read until the entities describe one
moment (``moment``), and the pages become Parquet files and a manifest
(``writer``). With
``since`` only records updated since then are fetched and merged into the
snapshot already there; ``find_deletions`` adds a pass over every Id that
drops records the API no longer has.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from .. import readers, stored_datetimes
from .._version import __version__
from ..entities import ENTITIES, Entity
from ..errors import AccessDenied, FetchError, UsageError
from ..nexudus import DEFAULT_BASE_URL
from ..snapshot import FORMATS, MANIFEST, read_manifest
from . import filter_names, moment, writer
from . import scope as scoping
from .client import NexudusClient, Page
from .credentials import Credentials
from .errors import FilterRejected
from .limits import RateLimiter, Unlimited
from .options import MAX_RESPONSE_BYTES
from .progress import RecordBar
from .retry import RetryPolicy
from .store import FetchStore
from .walk import MAX_REQUESTS, RANGES_PER_THREAD, Walk


@dataclass(frozen=True)
class FetchOptions:
    base_url: str = DEFAULT_BASE_URL
    filters: Mapping[str, str] = field(default_factory=dict)
    """API filters by name (``CoworkerBookingCredit_BusinessId``, ``from_..._CreatedOn``);
    each applies to the entity its name starts with."""
    since: dt.datetime | None = None
    find_deletions: bool = False
    page_size: int = 1000
    concurrency: int = 4
    limits: str = "documented"
    """``documented`` (the API's published limits) or ``off``."""
    max_response_bytes: int = MAX_RESPONSE_BYTES
    """The cap on one response body; past it the fetch stops (``ResponseTooLarge``)."""
    request_timeout: float = 300.0
    """Seconds one request may take, first byte to last, whatever the server's pace."""
    tries: int = 8
    """Tries per request on failures that may pass (5xx, resets, timeouts, bad bodies)."""
    max_requests: int = MAX_REQUESTS
    """The absolute cap on requests per entity (a bound from TotalItems applies below it)."""
    entities: tuple[str, ...] = ()
    """Names (or API paths) of the entities to fetch; empty: all four."""
    restart: bool = False
    """Discard the state of an unfinished fetch in ``out`` instead of resuming it."""
    locations: tuple[int, ...] = ()
    """The locations (``BusinessId``) whose ledger to fetch, every entity alike; empty: all."""


def fetch(
    out: str | Path,
    options: FetchOptions = FetchOptions(),
    *,
    credentials: Credentials | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Fetch a snapshot into ``out``; returns its manifest. Raises a ``FetchError`` (exit 2)
    when the API cannot be fetched from; what was fetched is kept for the next run."""
    out = Path(out)
    check_base_url(options.base_url)
    chosen = chosen_entities(options.entities)
    filters = filters_by_entity(options.filters)
    scope = scoping.Scope(options.locations)
    scoping.check_filters(scope, options.filters)
    credentials = credentials or Credentials.from_environment()
    previous = _check_out(out, incremental=options.since is not None)
    _check_same_scope(previous, scope)
    store = FetchStore(out, _fingerprint(options)).open(restart=options.restart)
    started = _parse_iso(store.started(_iso(_now())))
    retry = retry or RetryPolicy(attempts=options.tries, deadline=options.request_timeout)
    limiter = Unlimited() if options.limits == "off" else RateLimiter()
    # Each entity's snapshot file is made in the background while the next entity is
    # walked, unless the files depend on the end of every walk (a merge, the deletion pass).
    pipelined = previous is None and not options.find_deletions
    background = ThreadPoolExecutor(max_workers=1)
    finishing: dict[Entity, Any] = {}  # a Future[_Finished], or _Deferred until submitted
    keeps: dict[Entity, Callable[[pa.Table], pa.Table] | None] = {}

    def parent_ids(entity: Entity) -> pa.ChunkedArray | None:
        # The parents' snapshot is finished first (one background worker, parents first).
        assert entity.parent is not None
        return finishing[entity.parent.entity].result().ids

    committed = False
    try:
        with NexudusClient(
            options.base_url,
            credentials,
            transport=transport,
            limiter=limiter,
            retry=retry,
            max_response_bytes=options.max_response_bytes,
            # Beside the progress bars, on the terminal: what is retried, and the wait.
            on_retry=functools.partial(tqdm.write, file=sys.stderr) if progress else None,
        ) as client:
            walks = {}
            refused: dict[str, str] = {}
            # The filters each entity was walked with (a scope's, unless the API refused it).
            effective: dict[Entity, dict[str, str]] = {}
            for entity in chosen:
                try:
                    walks[entity], effective[entity], parsed = _walk_scoped(
                        client, entity, store, filters[entity], scope, options, progress
                    )
                except AccessDenied as exc:
                    if entity.required:
                        raise
                    # An optional entity the account may not read: the audit skips its
                    # rules and says so; the fetch goes on with what it may read.
                    refused[entity.name] = exc.role
                    store.forget(entity)
                    continue
                keeps[entity] = _scoper(scope, entity, walks, parent_ids)
                finishing[entity] = (
                    background.submit(
                        _finish, out, store, parsed, entity, previous, {}, keeps[entity]
                    )
                    if pipelined
                    else _Deferred(parsed)
                )
            live = (
                {e: _live_ids(client, e, effective[e], options) for e in walks}
                if options.find_deletions
                else {}
            )
            if not pipelined:
                # One by one into the dict the uses' scope reads their parents from.
                for entity, deferred in list(finishing.items()):
                    finishing[entity] = background.submit(
                        _finish, out, store, deferred.parsed, entity, previous, live, keeps[entity]
                    )
            finished = {entity: future.result() for entity, future in finishing.items()}
            settled = moment.settle(
                client,
                {entity: effective[entity] for entity in walks},
                started,
                functools.partial(_held, finished),
                store.root,
                size=options.page_size,
                concurrency=options.concurrency,
                max_requests=options.max_requests,
                now=_now,
            )
            stats = dict(client.stats)
        for entity, path in settled.pages.items():
            # The records re-read join the walk's pages, last: the snapshot keeps the last
            # version of each record, made the way every snapshot of stored pages is made.
            for line in path.read_bytes().splitlines():
                store.append(entity, line)
        again = _to_finish_again(set(settled.pages), scope, finished)
        for entity in again:
            writer.discard([finished[entity].staged])
            finishing[entity] = background.submit(
                _finish, out, store, None, entity, previous, live, keeps[entity]
            )
        walked = finished
        finished = {entity: future.result() for entity, future in finishing.items()}
        for entity in again:
            # Rows re-read are no duplicates: count the walk's only.
            finished[entity] = dataclasses.replace(
                finished[entity], duplicates=walked[entity].duplicates
            )
        entities = {
            entity.name: _entity_record(
                walks[entity], done.fetched, done.duplicates, previous, entity, live
            )
            for entity, done in finished.items()
        }
        for name, record in entities.items():
            record["records_reread"] = settled.reread.get(name, 0)
        if scope:
            for entity, done in finished.items():
                entities[entity.name]["scope"] = scoping.record(
                    scope,
                    entity,
                    rejected=bool(walks[entity].get("scope_rejected")),
                    dropped=done.dropped,
                    parent_fetched=entity.parent is None or entity.parent.entity in walks,
                )
        manifest = {
            "format": 1,
            "recon_version": __version__,
            "base_url": options.base_url,
            "filters": dict(sorted(options.filters.items())),
            "scope": scope.manifest(),
            "since": _iso(options.since) if options.since else None,
            "find_deletions": options.find_deletions,
            "fetch_started": _iso(started),
            "fetch_finished": _iso(_now()),
            "requests": stats.get("requests", 0),
            "retries": stats.get("failures", 0),
            "throttled": stats.get("throttled", 0),
            "resumed": store.resumed,
            "previous": _previous_summary(previous),
            "moment": settled.manifest(),
            "entities_chosen": [entity.name for entity in chosen],
            "refused": refused,
            "entities": {**_carried(previous, walks), **entities},
        }
        writer.commit(
            out,
            [done.staged for done in finished.values()],
            manifest,
            stale=_stale_files(out, previous, manifest),
        )
        committed = True
    finally:
        background.shutdown(wait=True, cancel_futures=True)
        if not committed:
            writer.discard(
                future.result().staged
                for future in finishing.values()
                if isinstance(future, Future)
                and future.done()
                and not future.cancelled()
                and future.exception() is None
            )
        store.close()  # what was fetched stays, with its progress saved, for the next run
    store.remove()
    return manifest


@dataclass(frozen=True)
class _Finished:
    staged: writer.Staged
    fetched: int
    duplicates: int
    dropped: int = 0
    """Records fetched but out of the location scope."""
    ids: pa.ChunkedArray | None = None
    """The Ids of the records kept (with a scope: its uses' parents)."""


@dataclass(frozen=True)
class _Deferred:
    parsed: writer.PageRecords


def _finish(
    out: Path,
    store: FetchStore,
    parsed: writer.PageRecords | None,
    entity: Entity,
    previous: dict[str, Any] | None,
    live: dict[Entity, set[int]],
    keep: Callable[[pa.Table], pa.Table] | None = None,
) -> _Finished:
    """The entity's records, each Id once, in scope (``keep``), merged into the earlier
    snapshot if any, staged. ``parsed`` None: from the stored pages."""
    # Pages of an earlier, interrupted run are only in the stored pages.
    pages = store.pages_path(entity)
    # An amount no double holds is read again from the stored pages, in their order.
    exact = writer.holds_long_numbers(pages)
    received = None if store.resumed or parsed is None or exact else parsed.table()
    if received is None:
        received = writer.records_table(pages, entity)
    if exact:
        received = writer.with_exact_amounts(received, pages, entity)
    fresh, duplicates = writer.keep_last_by_id(received)
    fetched = fresh.num_rows
    if keep is not None:
        fresh = keep(fresh)
    table = fresh
    if previous is not None:
        table = writer.merge(_existing(out, entity), fresh, live.get(entity))
    elif entity in live:
        table = writer.merge(fresh.schema.empty_table(), fresh, live[entity])
    ids = table.column("Id") if keep is not None and "Id" in table.column_names else None
    return _Finished(
        writer.stage(out, entity, table), fetched, duplicates, fetched - fresh.num_rows, ids
    )


def _scoper(
    scope: scoping.Scope,
    entity: Entity,
    walks: Mapping[Entity, Any],
    parent_ids: Callable[[Entity], pa.ChunkedArray | None],
) -> Callable[[pa.Table], pa.Table] | None:
    """What keeps the entity's records in scope after fetching; None: no scope, or a use
    whose parents were not fetched (nothing to check it against)."""
    if not scope:
        return None
    if entity.parent is None:
        return functools.partial(scoping.keep_parents, locations=scope.locations)
    if entity.parent.entity not in walks:
        return None
    return lambda table: scoping.keep_children(table, entity, parent_ids(entity))


def _to_finish_again(
    reread: set[Entity], scope: scoping.Scope, finished: Mapping[Entity, _Finished]
) -> list[Entity]:
    """The entities whose snapshot is made again after the passes to one moment: those
    re-read, and with a scope the uses of a parent re-read (a credit new in scope brings its
    uses in); parents first, as the uses' scope reads their parents'."""
    again = set(reread)
    if scope:
        again |= {e for e in finished if e.parent is not None and e.parent.entity in reread}
    return [entity for entity in ENTITIES if entity in again and entity in finished]


def _check_same_scope(previous: dict[str, Any] | None, scope: scoping.Scope) -> None:
    """An incremental fetch merges into a snapshot of the same locations only."""
    if previous is None:
        return
    earlier = (previous.get("scope") or {}).get("locations") or []
    if sorted(earlier) != list(scope.locations):

        def say(locations: Any) -> str:
            return ", ".join(map(str, locations)) if locations else "every location"

        raise UsageError(
            f"--since: the snapshot in --out holds {say(earlier)}, this fetch asks for "
            f"{say(scope.locations)}; give the same --location as the earlier fetch"
        )


def check_base_url(text: str) -> None:
    """Refuse a ``--base-url`` that no request could reach, before any request is made."""
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError):
        url = None
    if url is not None and url.scheme in ("http", "https") and url.host and not url.query:
        return
    hint = ""
    if url is not None and not url.scheme and "." in text and " " not in text:
        hint = f" (did you mean https://{text.strip('/')}?)"
    raise UsageError(
        f"--base-url '{text}' is not the address of an API: give http:// or https:// and a "
        f"host, e.g. {DEFAULT_BASE_URL}{hint}"
    )


def chosen_entities(names: tuple[str, ...]) -> tuple[Entity, ...]:
    """The entities named (by name or API path, any case), in fetch order; all when none."""
    if not names:
        return ENTITIES
    wanted = set()
    for name in names:
        entity = next(
            (e for e in ENTITIES if name.strip().lower() in (e.name.lower(), e.stem)), None
        )
        if entity is None:
            known = ", ".join(e.name for e in ENTITIES)
            raise UsageError(f"--entities: '{name}' is none of the entities; choose from {known}")
        wanted.add(entity)
    return tuple(entity for entity in ENTITIES if entity in wanted)


def _carried(previous: dict[str, Any] | None, walked: dict[Entity, Any]) -> dict[str, Any]:
    """The earlier snapshot's entities this incremental fetch did not walk: kept as they were."""
    if previous is None:
        return {}
    names = {entity.name for entity in walked}
    return {
        name: entry
        for name, entry in previous.get("entities", {}).items()
        if name not in names and isinstance(entry, dict)
    }


def _stale_files(
    out: Path, previous: dict[str, Any] | None, manifest: dict[str, Any]
) -> list[Path]:
    """Files an earlier fetch wrote into ``out`` for entities this one does not hold."""
    earlier = read_manifest(out) if out.is_dir() else None
    kept = {e.stem for e in ENTITIES if e.name in manifest["entities"]}
    return [
        out / f"{entity.stem}.parquet"
        for entity in ENTITIES
        if entity.stem not in kept
        and earlier is not None
        and entity.name in earlier.get("entities", {})
    ]


def _held(finished: dict[Entity, _Finished], entity: Entity, ids: list[int]) -> dict[int, Any]:
    """``UpdatedOn`` of the records of ``ids`` in the entity's staged table (the walk's)."""
    if not ids:
        return {}
    path = finished[entity].staged.temporary
    names = pq.read_schema(path).names
    if "Id" not in names or "UpdatedOn" not in names:
        return {}
    table = stored_datetimes.as_text(pq.read_table(path, columns=["Id", "UpdatedOn"]))
    if not pa.types.is_integer(table.schema.field("Id").type):
        return {}
    wanted = pc.is_in(table.column("Id"), value_set=pa.array(ids, pa.int64()))
    found = table.filter(pc.fill_null(wanted, False))
    return dict(
        zip(found.column("Id").to_pylist(), found.column("UpdatedOn").to_pylist(), strict=True)
    )


def filters_by_entity(filters: Mapping[str, str]) -> dict[Entity, dict[str, str]]:
    """Each filter under the entity its name is for; a name for no entity, or for none of
    its fields, is a usage error (the API would ignore it and fetch everything)."""
    grouped: dict[Entity, dict[str, str]] = {entity: {} for entity in ENTITIES}
    for name, value in filters.items():
        grouped[filter_names.check(name)][name] = value
    return grouped


def _walk_scoped(
    client: NexudusClient,
    entity: Entity,
    store: FetchStore,
    filters: dict[str, str],
    scope: scoping.Scope,
    options: FetchOptions,
    progress: bool,
) -> tuple[dict[str, Any], dict[str, str], writer.PageRecords]:
    """The entity's walk with the scope's filter; where the API rejects that filter (HTTP
    400), the entity walked whole (filtered after fetching), remembered in its state so a
    resumed fetch does the same. Returns the walk's state, its filters and its records."""
    asked = {} if store.walk_state(entity).get("scope_rejected") else scope.api_filter(entity)
    since = _since_filter(entity, options.since)
    parsed = writer.PageRecords(entity)
    try:
        state = _walk(
            client, entity, store, {**filters, **asked, **since}, options, progress, parsed
        )
        return state, {**filters, **asked}, parsed
    except FilterRejected:
        if not asked:
            raise
    store.forget(entity)
    store.walk_state(entity)["scope_rejected"] = True
    store.save()
    parsed = writer.PageRecords(entity)
    state = _walk(client, entity, store, {**filters, **since}, options, progress, parsed)
    return state, dict(filters), parsed


def _walk(
    client: NexudusClient,
    entity: Entity,
    store: FetchStore,
    filters: dict[str, str],
    options: FetchOptions,
    progress: bool,
    records: writer.PageRecords,
) -> dict[str, Any]:
    state = store.walk_state(entity)
    order = threading.Lock()  # pages are parsed in any order, kept in the order stored
    bar = RecordBar(entity, state, enabled=progress)

    def sink(page: Page, repeated: int) -> None:
        with order:
            store.append(entity, page.body)
            records.add(page.records, repeated)
        bar.page(page.ids, page.count, repeated, page.total_items)

    try:
        state = Walk(
            client,
            entity,
            state=state,
            sink=sink,
            save=store.save,
            filters=filters,
            size=options.page_size,
            concurrency=options.concurrency,
            ranges_per_thread=_ranges_per_thread(options),
            records_schema=readers.typed_schema(entity),
            max_requests=options.max_requests,
        ).run()
        bar.finish()
        return state
    finally:
        bar.close()


def _live_ids(
    client: NexudusClient, entity: Entity, filters: dict[str, str], options: FetchOptions
) -> set[int]:
    """Every Id the API has now: the pass that finds deletions, which no ``since`` can."""
    ids: set[int] = set()
    Walk(
        client,
        entity,
        state={},
        sink=lambda page, repeated: ids.update(page.ids.tolist()),
        filters=filters,
        size=options.page_size,
        concurrency=options.concurrency,
        ranges_per_thread=_ranges_per_thread(options),
        max_requests=options.max_requests,
    ).run()
    return ids


def _ranges_per_thread(options: FetchOptions) -> int:
    # Under the documented limits a part-filled page costs a whole request of the budget.
    return RANGES_PER_THREAD if options.limits == "off" else 1


def _since_filter(entity: Entity, since: dt.datetime | None) -> dict[str, str]:
    if since is None:
        return {}
    # The API takes YYYY-MM-DDTHH:mm: the minute is floored, so nothing updated is missed.
    return {f"from_{entity.name}_UpdatedOn": since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")}


def _check_out(out: Path, *, incremental: bool) -> dict[str, Any] | None:
    """Refuse an ``out`` holding snapshot files recon fetch did not write; the manifest of the
    snapshot an incremental fetch builds on."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out '{out}' is a file; give a directory for the snapshot")
    manifest = read_manifest(out) if out.is_dir() else None
    ours = {entity.get("file") for entity in (manifest or {}).get("entities", {}).values()}
    for entity in ENTITIES:
        for fmt in FORMATS:
            name = f"{entity.stem}.{fmt}"
            if (out / name).exists() and name not in ours:
                raise FetchError(
                    f"--out '{out}' holds {name}, which recon fetch did not write; fetch into "
                    "an empty directory or move that file, so nothing of yours is overwritten"
                )
    if incremental and manifest is None:
        raise UsageError(
            f"--since needs the snapshot of an earlier fetch in '{out}' (no {MANIFEST} there); "
            "run a full fetch first"
        )
    return manifest if incremental else None


def _existing(out: Path, entity: Entity) -> pa.Table:
    path = out / f"{entity.stem}.parquet"
    # As the API sent it: merged with freshly fetched pages, which are text.
    return stored_datetimes.as_text(pq.read_table(path)) if path.exists() else pa.table({})


def _entity_record(
    state: dict[str, Any],
    fetched: int,
    duplicates: int,
    previous: dict[str, Any] | None,
    entity: Entity,
    live: dict[Entity, set[int]],
) -> dict[str, Any]:
    record = {
        "paging": state.get("mode"),
        "order": state.get("order"),
        "dir": state.get("direction"),
        "pages": state.get("pages", 0),
        "records_received": state.get("records", 0),
        "records_fetched": fetched,
        "duplicates_dropped": duplicates,
        # TotalItems when the walk began and when it ended: a ranged page's counts only its
        # range, so a keyset walk's end is the count its completeness check read.
        "total_items": [
            state.get("total_first"),
            state.get("total_check" if state.get("mode") == "keyset" else "total_last"),
        ],
        "consistency": "keyset" if state.get("mode") in ("keyset", "single page") else "offset",
        "notes": list(state.get("notes", [])),
    }
    if state.get("mode") == "offset":
        record["walks"] = state.get("walk", 1)
    if entity in live:
        record["ids_seen_in_deletion_pass"] = len(live[entity])
    return record


def _previous_summary(previous: dict[str, Any] | None) -> dict[str, Any] | None:
    if previous is None:
        return None
    return {
        "fetch_finished": previous.get("fetch_finished"),
        "since": previous.get("since"),
        "records": {
            name: entity.get("records") for name, entity in previous.get("entities", {}).items()
        },
    }


def _fingerprint(options: FetchOptions) -> dict[str, Any]:
    """What must not change between an interrupted fetch and its resumption."""
    return {
        "base_url": options.base_url,
        "filters": dict(sorted(options.filters.items())),
        "locations": list(options.locations),
        "since": _iso(options.since) if options.since else None,
        "page_size": options.page_size,
        "entities": [entity.name for entity in chosen_entities(options.entities)],
    }


def _parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
