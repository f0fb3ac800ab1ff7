"""Search filters: equality, foreign keys, related properties, ranges (date-time, number, Id)."""

from builders import credit, use

CREDITS = "/api/billing/coworkerbookingcredits"
USES = "/api/billing/coworkerbookingcreditusehistories"
E = "CoworkerBookingCreditUseHistory"


def matching(data, test):
    return [record["Id"] for record in data["CoworkerBookingCreditUseHistory"] if test(record)]


def test_equality_on_a_field(start, client, ids, data):
    http = client(start())
    page = http.get(USES, params={f"{E}_CreditUsed": "3.5", "size": 100})
    assert ids(page) == matching(data, lambda r: r["CreditUsed"] == 3.5)
    assert ids(page)  # the dataset has some
    text = http.get(USES, params={f"{E}_Description": "goodwill ADJUSTMENT"})
    assert ids(text) == matching(data, lambda r: r["Description"] == "Goodwill adjustment")


def test_equality_on_a_foreign_key_and_a_related_property(start, client, ids, data):
    http = client(start())
    by_credit = http.get(USES, params={f"{E}_CoworkerBookingCredit": "3", "size": 100})
    assert ids(by_credit) == matching(data, lambda r: r["CoworkerBookingCreditId"] == 3)
    assert len(ids(by_credit)) == 8
    # <Entity>_<ForeignKey>_<Property> is the denormalised field <ForeignKey><Property>.
    room = http.get(USES, params={f"{E}_Booking_Resource_Name": "Meeting Room 1", "size": 100})
    assert ids(room) == matching(data, lambda r: r.get("BookingResourceName") == "Meeting Room 1")
    booking = http.get(USES, params={f"{E}_Booking": "9101"})
    assert ids(booking) == [101]


def test_filters_are_anded(start, client, ids, data):
    http = client(start())
    both = http.get(
        USES, params={f"{E}_CoworkerBookingCredit": "2", f"from_{E}_CreditUsed": "3", "size": 100}
    )
    expected = matching(data, lambda r: r["CoworkerBookingCreditId"] == 2 and r["CreditUsed"] >= 3)
    assert ids(both) == expected and 0 < len(expected) < 8


def test_date_time_ranges_compare_wall_clock_with_or_without_z(start, client, ids, data):
    http = client(start())
    # UpdatedOn carries Z, BookingFromTime does not: both compare as written.
    updated = http.get(
        USES,
        params={
            f"from_{E}_UpdatedOn": "2025-03-05T00:00",
            f"to_{E}_UpdatedOn": "2025-03-10T09:05",
            "size": 100,
        },
    )
    assert ids(updated) == matching(
        data, lambda r: "2025-03-05T00:00" <= r["UpdatedOn"][:16] <= "2025-03-10T09:05"
    )
    assert 105 in ids(updated) and 110 not in ids(updated)  # 03-10T09:09:00Z is after 09:05
    # The bounds are inclusive, to the second.
    boundary = http.get(
        USES,
        params={f"from_{E}_UpdatedOn": "2025-03-10T09:09", f"to_{E}_UpdatedOn": "2025-03-10T09:09"},
    )
    assert ids(boundary) == [110]
    booked = http.get(USES, params={f"to_{E}_BookingFromTime": "2025-03-03T10:00", "size": 100})
    assert ids(booked) == matching(
        data,
        lambda r: (
            r["BookingFromTime"] is not None and r["BookingFromTime"][:16] <= "2025-03-03T10:00"
        ),
    )
    assert ids(booked)


def test_number_ranges_on_integers_and_decimals(start, client, ids):
    http = client(start())
    credits = http.get(
        CREDITS,
        params={
            "from_CoworkerBookingCredit_TotalCredit": "102",
            "to_CoworkerBookingCredit_TotalCredit": "104.5",
        },
    )
    assert ids(credits) == [2, 3, 4]
    remaining = http.get(CREDITS, params={"from_CoworkerBookingCredit_RemainingCredit": "50.75"})
    assert ids(remaining) == [3, 4, 5]
    ints = http.get(CREDITS, params={"to_CoworkerBookingCredit_CoworkerId": "500"})
    assert ids(ints) == [2, 4]


def test_id_ranges(start, client, ids):
    http = client(start())
    page = http.get(USES, params={f"from_{E}_Id": "120", f"to_{E}_Id": "124", "dir": 1})
    assert ids(page) == [120, 121, 122, 123, 124]
    assert page.json()["TotalItems"] == 5
    down = http.get(USES, params={f"from_{E}_Id": "135", "dir": -1})
    assert ids(down) == [140, 139, 138, 137, 136, 135]
    equal = http.get(USES, params={f"{E}_Id": "130"})
    assert ids(equal) == [130]


def test_id_ranges_ignored_when_not_honoured(start, client, ids):
    http = client(start(honour_id_range=False))
    page = http.get(USES, params={f"from_{E}_Id": "120", f"to_{E}_Id": "124", "size": 100})
    assert ids(page) == list(range(101, 141))
    # Other filters still work, and so does equality on Id.
    assert ids(http.get(USES, params={f"{E}_Id": "130"})) == [130]
    assert ids(http.get(CREDITS, params={"CoworkerBookingCredit_CoworkerId": "501"})) == [1, 3, 5]


def test_unknown_and_foreign_parameters_are_ignored(start, client, ids):
    http = client(start())
    page = http.get(
        CREDITS,
        params={
            "CoworkerBookingCredit_NoSuchField": "1",
            "Coworker_Id": "4",  # another entity's prefix
            "utm_source": "x",
            "CoworkerBookingCredit_CoworkerId": "",  # empty: no filter
            "from_CoworkerBookingCredit_TotalCredit": "not-a-number",
        },
    )
    assert ids(page) == [1, 2, 3, 4, 5]


def test_parameter_names_are_case_insensitive(start, client, ids):
    http = client(start())
    page = http.get(
        CREDITS, params={"FROM_coworkerbookingcredit_id": "4", "PAGE": "1", "Size": "1"}
    )
    assert ids(page) == [4] and page.json()["TotalItems"] == 2


def test_records_without_a_usable_id_are_listed_but_never_in_an_id_range(start, client, ids):
    records = [use(7, 1), use(3, 1), {**use(0, 1), "Id": None}, use(5, 1)]
    http = client(
        start(
            snapshot={
                "CoworkerBookingCreditUseHistory": records,
                "CoworkerBookingCredit": [credit(1)],
            }
        )
    )
    everything = http.get(USES)
    assert ids(everything) == [None, 3, 5, 7]
    assert ids(http.get(USES, params={f"to_{E}_Id": "5"})) == [3, 5]


def _two_locations(data):
    """The dataset with credits 2 and 4 at location 2 (the others at location 1)."""
    for record in data["CoworkerBookingCredit"]:
        record["BusinessId"] = 2 if record["Id"] in (2, 4) else 1
    return data


def test_a_related_property_filter_reads_the_related_record(start, client, ids, data):
    data = _two_locations(data)
    http = client(start(snapshot=data))
    name = f"{E}_CoworkerBookingCredit_BusinessId"
    page = http.get(USES, params={name: "2", "size": 100})
    expected = matching(data, lambda r: r["CoworkerBookingCreditId"] in (2, 4))
    assert ids(page) == expected and len(expected) == 16
    assert page.json()["TotalItems"] == 16
    # ANDed with the entity's own filters, and ranges work through the relation too.
    both = http.get(USES, params={name: "2", f"{E}_CoworkerBookingCredit": "4", "size": 100})
    assert ids(both) == matching(data, lambda r: r["CoworkerBookingCreditId"] == 4)
    ranged = http.get(USES, params={f"from_{name}": "2", "size": 100})
    assert ids(ranged) == expected
    # A property the related record lacks matches nothing.
    assert ids(http.get(USES, params={f"{E}_CoworkerBookingCredit_Bogus": "2"})) == []


def test_related_property_filters_can_be_rejected_or_ignored(start, client, ids, data):
    data = _two_locations(data)
    name = f"{E}_CoworkerBookingCredit_BusinessId"
    rejecting = client(start(snapshot=data, related_filters="reject"))
    refused = rejecting.get(USES, params={name: "2"})
    assert refused.status_code == 400
    # Its own fields still filter.
    assert ids(rejecting.get(CREDITS, params={"CoworkerBookingCredit_BusinessId": "2"})) == [2, 4]
    ignoring = client(start(snapshot=data, related_filters="ignore"))
    everything = ignoring.get(USES, params={name: "2", "size": 100})
    assert everything.status_code == 200
    assert ids(everything) == matching(data, lambda r: True)
