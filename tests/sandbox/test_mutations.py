"""Mutations mid-walk: applied once, right after the configured search, and logged."""

from recon.sandbox import Mutations

CREDITS = "/api/billing/coworkerbookingcredits"
USES = "/api/billing/coworkerbookingcreditusehistories"
E = "CoworkerBookingCreditUseHistory"


def test_applied_once_after_the_nth_search_of_the_entity(start, client, ids):
    mutations = Mutations(after_requests=2, entity=E, inserts=3, deletes=2, seed=4)
    sandbox = start(mutations=mutations)
    http = client(sandbox)
    original = {r["Id"]: r for r in sandbox.records(E)}
    http.get(CREDITS)  # other entities' searches do not count
    http.get(USES + "/101")  # nor do get-one requests
    first = http.get(USES, params={"size": 100})
    assert sandbox.mutations_log == []
    second = http.get(USES, params={"size": 100})
    assert ids(second) == ids(first) == sorted(original)  # the 2nd search saw the old table
    [event] = sandbox.mutations_log
    assert (event.entity, event.request, event.cause) == (E, 2, "mutation")
    assert event.inserted == (141, 142, 143)
    assert len(event.deleted) == 2 and set(event.deleted) <= set(original)
    now = {r["Id"]: r for r in sandbox.records(E)}
    assert set(now) == (set(original) - set(event.deleted)) | {141, 142, 143}
    third = http.get(USES, params={"size": 100})
    assert ids(third) == sorted(now)
    for new_id in event.inserted:
        new = now[new_id]
        assert new["UniqueId"] not in {r["UniqueId"] for r in original.values()}
        assert new["UpdatedOn"].endswith("Z") and new["UpdatedOn"] > "2025-12-31"
        copied = {
            k: v for k, v in new.items() if k not in ("Id", "UniqueId", "CreatedOn", "UpdatedOn")
        }
        assert any(
            copied == {k: v for k, v in old.items() if k in copied} for old in original.values()
        )
    for _ in range(3):
        http.get(USES)
    assert len(sandbox.mutations_log) == 1  # once only
    assert sandbox.stats.searches[E] == 6


def test_same_seed_same_mutation(start, client):
    def event(seed):
        sandbox = start(
            mutations=Mutations(after_requests=1, entity=E, inserts=1, deletes=3, seed=seed)
        )
        client(sandbox).get(USES)
        return sandbox.mutations_log[0].deleted

    assert event(1) == event(1)


def test_after_zero_requests_changes_the_table_before_any_search(start, client):
    sandbox = start(
        mutations=Mutations(after_requests=0, entity="coworkerbookingcredits", deletes=5)
    )
    [event] = sandbox.mutations_log
    assert event.request == 0 and sorted(event.deleted) == [1, 2, 3, 4, 5]
    assert client(sandbox).get(CREDITS).json()["TotalItems"] == 0


def test_faulted_searches_do_not_count(start, client):
    from recon.sandbox import Faults

    sandbox = start(
        mutations=Mutations(after_requests=1, entity=E, inserts=1),
        faults=Faults(rate=1.0, kinds=("500",)),
    )
    client(sandbox).get(USES)
    assert sandbox.mutations_log == [] and sandbox.stats.searches[E] == 0
