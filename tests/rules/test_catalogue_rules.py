"""The catalogue rules added in issue 18 item 4 (GEO-05/06/08, TXT-09/12/13, PHN-03, MED-02/04, PAY-03/04):
for each a hand-built positive and a realistic look-alike that must stay quiet, with the records cited and
the severity asserted (docs/domain/rule_catalogue.md)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rules.engine import evaluate
from rules.examples import describer, load_records
from rules.pack import load_pack
from rules.primitives import ledger_rows, may_hold_number, numbers_in
from rules.testing import example_watchlists, run_pack
from triage.model.records import Finding

PACK = load_pack()
BEACH = (50.8872, 1.6573)  # Wissant / Cap Gris-Nez launch area
CALAIS = (50.9630, 1.8400)
GRAVELINES = (50.9980, 2.1102)
SEA = (51.0000, 1.5000)
DOVER = (51.1128, 1.3030)
OSNABRUCK = (52.2799, 8.0472)  # a boat-supply storage area
HASH = "q0Zbg3mWq1v1TnOa3Yl3Jd7lq5QJ0c0cD4p7mX9b2Qk="


def pos(where: tuple[float, float], when: str, **extra: Any) -> dict[str, Any]:
    return {"type": "location", "latitude": where[0], "longitude": where[1], "time": when, **extra}


def msg(counterpart: str, body: str | None, when: str, direction: str = "incoming", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "counterpart": counterpart, "body": body, "time": when, "direction": direction, **extra}


def findings_of(rule_id: str, records: list[dict[str, Any]]) -> list[Finding]:
    return [f for f in run_pack(PACK, records, example_watchlists()) if f.rule_id == rule_id]


def cited(finding: Finding) -> list[tuple[str, int]]:
    return [(e["type"], e["id"]) for e in finding.evidence]


# -- GEO-05 ----------------------------------------------------------------------------------------
NIGHTS = ["2025-05-01T01:30:00Z", "2025-05-04T02:00:00Z", "2025-05-08T01:00:00Z", "2025-05-12T03:00:00Z"]


def test_geo05_five_nights_over_two_weeks_cite_the_night_positions_only() -> None:
    records = [pos(BEACH, t) for t in [*NIGHTS, "2025-05-16T01:45:00Z"]]
    records.append(pos(BEACH, "2025-05-10T14:00:00Z"))  # an afternoon walk: not a night, not cited
    (f,) = findings_of("GEO-05", records)
    assert f.severity == "MEDIUM" and f.family == "geo"
    assert cited(f) == [("location", i) for i in (1, 2, 3, 4, 5)]
    assert "5 distinct nights over 15 days" in f.explanation
    assert "2025-04-30" in f.explanation  # 03:30 Paris time on 1 May belongs to the night of 30 April


def test_geo05_three_launch_areas_in_one_night() -> None:
    records = [
        pos(BEACH, "2025-05-01T23:00:00Z"),
        pos(CALAIS, "2025-05-02T00:30:00Z"),
        pos(GRAVELINES, "2025-05-02T02:00:00Z"),
    ]
    (f,) = findings_of("GEO-05", records)
    assert f.severity == "MEDIUM" and "3 distinct launch areas" in f.explanation
    assert cited(f) == [("location", 1), ("location", 2), ("location", 3)]


def test_geo05_look_alikes_stay_quiet() -> None:
    afternoons = [pos(BEACH, t.replace("T0", "T1")) for t in [*NIGHTS, "2025-05-16T01:45:00Z"]]  # 11:30… local
    assert findings_of("GEO-05", afternoons) == []
    holiday_week = [pos(BEACH, f"2025-05-0{d}T22:30:00Z") for d in range(1, 6)]  # five nights, one week
    assert findings_of("GEO-05", holiday_week) == []
    four_nights = [pos(BEACH, t) for t in NIGHTS]
    assert findings_of("GEO-05", four_nights) == []


def test_geo05_is_high_with_the_users_own_launch_instructions() -> None:
    records = [pos(BEACH, t) for t in [*NIGHTS, "2025-05-16T01:45:00Z"]]
    told = msg("+33612345678", "Switch off your phone and leave your bags", "2025-05-16T01:00:00Z", "outgoing")
    (f,) = findings_of("GEO-05", [*records, told])
    assert f.severity == "HIGH" and "HIGH findings of TXT-05" in f.explanation
    assert f.extra["escalated_by"] == ["with_rules"]
    received = msg("+33612345678", "Switch off your phone and leave your bags", "2025-05-16T01:00:00Z")
    (g,) = findings_of("GEO-05", [*records, received])  # a passenger told what to do: TXT-05 is LOW
    assert g.severity == "MEDIUM"


# -- GEO-06 ----------------------------------------------------------------------------------------
def test_geo06_two_night_crossings() -> None:
    records = [
        pos(BEACH, "2025-05-10T01:30:00Z"),
        pos(SEA, "2025-05-10T05:10:00Z"),
        pos(GRAVELINES, "2025-05-18T00:30:00Z"),
        pos(DOVER, "2025-05-18T09:00:00Z"),
    ]
    (f,) = findings_of("GEO-06", records)
    assert f.severity == "HIGH" and f.family == "geo"
    assert cited(f) == [("location", i) for i in (1, 2, 3, 4)]
    assert "2 separate crossings" in f.explanation and "at sea 3.7 hours later" in f.explanation


def test_geo06_ferry_trips_and_a_single_crossing_stay_quiet() -> None:
    ferry = []
    for day in ("10", "18"):
        ferry += [
            pos(CALAIS, f"2025-05-{day}T20:00:00Z"),
            pos(SEA, f"2025-05-{day}T21:00:00Z"),
            pos(DOVER, f"2025-05-{day}T22:30:00Z"),
        ]
    assert findings_of("GEO-06", ferry) == []
    once = [pos(BEACH, "2025-05-10T01:30:00Z"), pos(SEA, "2025-05-10T05:00:00Z"), pos(DOVER, "2025-05-10T09:00:00Z")]
    assert findings_of("GEO-06", once) == []  # one night: GEO-03/04's business, not GEO-06's


def test_geo06_a_pin_someone_sent_is_not_a_crossing() -> None:
    records = []
    for n, day in enumerate(("10", "18")):
        records += [
            msg("+33612345678", None, f"2025-05-{day}T01:30:00Z", ref=f"m{n}"),
            {**pos(BEACH, f"2025-05-{day}T01:30:00Z"), "message": f"m{n}"},
            pos(SEA, f"2025-05-{day}T05:10:00Z"),
        ]
    assert findings_of("GEO-06", records) == []


# -- GEO-08 ----------------------------------------------------------------------------------------
def test_geo08_storage_area_and_equipment_talk_in_either_order() -> None:
    talk = msg("+4915123456789", "10 engines and 200 life jackets are ready", "2025-05-07T10:00:00Z", "outgoing")
    before = findings_of("GEO-08", [talk, pos(OSNABRUCK, "2025-05-09T15:00:00Z")])
    after = findings_of("GEO-08", [pos(OSNABRUCK, "2025-05-05T15:00:00Z"), talk])
    # LOW alone: the marine trade lives in those areas too; MEDIUM once the crossing is named
    assert [f.severity for f in before + after] == ["LOW", "LOW"]
    assert cited(before[0]) == [("message", 1), ("location", 1)]
    assert cited(after[0]) == [("location", 1), ("message", 1)]
    crossing = msg(
        "+4915123456789", "10 engines and 200 life jackets for the crossing", "2025-05-07T10:00:00Z", "outgoing"
    )
    (raised,) = findings_of("GEO-08", [crossing, pos(OSNABRUCK, "2025-05-09T15:00:00Z")])
    assert raised.severity == "MEDIUM" and raised.extra["escalated_by"] == ["with_concepts"]


def test_geo08_a_farmers_engine_and_fuel_stays_quiet() -> None:
    farm = msg("+4915123456789", "The tractor engine needs fuel", "2025-05-07T10:00:00Z", "outgoing")
    assert findings_of("GEO-08", [farm, pos(OSNABRUCK, "2025-05-09T15:00:00Z")]) == []
    late = msg("+4915123456789", "10 engines and 200 life jackets are ready", "2025-04-01T10:00:00Z", "outgoing")
    assert findings_of("GEO-08", [late, pos(OSNABRUCK, "2025-05-09T15:00:00Z")]) == []


# -- TXT-09 ----------------------------------------------------------------------------------------
def test_txt09_paid_driving_of_boat_kit_sent_and_received() -> None:
    body = "Need a driver for the van: the engines and life jackets to Dunkirk, 500 euro per trip"
    for direction, severity in (("outgoing", "HIGH"), ("incoming", "LOW")):
        records = [
            msg("+4915123456789", body, "2025-05-10T10:00:00Z", direction, ref="q"),
            {"type": "payment", "method": "amount", "amount": 500, "currency": "EUR", "message": "q"},
        ]
        (f,) = findings_of("TXT-09", records)
        assert (f.severity, cited(f)) == (severity, [("message", 1)])
        assert "(transport_job, M)" in f.explanation


def test_txt09_an_ordinary_haulage_job_stays_quiet() -> None:
    body = "Driver needed for the Calais run, 300 euro per trip, paid weekly"
    records = [
        msg("+33612345678", body, "2025-05-10T10:00:00Z", ref="q"),
        {"type": "payment", "method": "amount", "amount": 300, "currency": "EUR", "message": "q"},
    ]
    assert findings_of("TXT-09", records) == []


# -- TXT-12 ----------------------------------------------------------------------------------------
def test_txt12_arrivals_from_five_senders_in_one_group() -> None:
    group = "120363025246125486@g.us"
    records = [
        {
            **msg(group, "We arrived in England, thank you", f"2025-05-{18 + i}T09:00:00Z"),
            "sender": f"+4477009000{i:02d}",
        }
        for i in range(5)
    ]
    (f,) = findings_of("TXT-12", records)
    assert f.severity == "MEDIUM" and cited(f) == [("message", i) for i in range(1, 6)]
    assert "from 5 distinct senders" in f.explanation


def test_txt12_a_lower_confidence_arrival_word_counts_beside_a_uk_word() -> None:
    """Tigrinya "we arrived" is an L term: it counts only in a text that also names England."""
    with_uk = [msg(f"+44741200000{i}", "በጺሕና እንግሊዝ፡ የቐንየለይ ሓወይ", f"2025-07-2{i}T09:00:00Z") for i in range(5)]
    (f,) = findings_of("TXT-12", with_uk)
    assert f.severity == "MEDIUM" and "'በጺህና' (arrival, L)" in f.explanation
    alone = [msg(f"+44741200000{i}", "በጺሕና", f"2025-07-2{i}T09:00:00Z") for i in range(5)]
    assert findings_of("TXT-12", alone) == []


def test_txt12_family_arrivals_and_a_month_apart_stay_quiet() -> None:
    two = [msg(f"+44770090000{i}", "We arrived in England", f"2025-05-1{i}T09:00:00Z") for i in range(1, 3)]
    assert findings_of("TXT-12", two) == []
    spread = [msg(f"+44770090000{i}", "We arrived in England", f"2025-0{i}-10T09:00:00Z") for i in range(1, 6)]
    assert findings_of("TXT-12", spread) == []  # five senders, but one a month: not a collection


# -- TXT-13 ----------------------------------------------------------------------------------------
def test_txt13_counterpart_gives_two_new_numbers() -> None:
    cp = "+33612345678"
    records = [
        msg(cp, "Boat to England, 1500 per person", "2025-05-01T10:00:00Z"),
        msg(cp, "Call me, I am on +33612345678", "2025-05-02T10:00:00Z"),  # its own number: not new
        msg(cp, "This number is finished, my new number is +33 6 98 76 54 32", "2025-05-08T10:00:00Z"),
        msg(cp, "From today call me on +44 7400 111222", "2025-05-15T10:00:00Z"),
    ]
    (f,) = findings_of("TXT-13", records)
    assert f.severity == "MEDIUM"
    assert sorted(cited(f)) == [("message", 1), ("message", 3), ("message", 4)]
    assert "gives 2 other numbers" in f.explanation and "447400111222" in f.explanation


def test_txt13_one_new_number_or_no_crossing_talk_stays_quiet() -> None:
    cp = "+33612345678"
    one = [
        msg(cp, "Boat to England, 1500 per person", "2025-05-01T10:00:00Z"),
        msg(cp, "My new number is +33 6 98 76 54 32", "2025-05-08T10:00:00Z"),
    ]
    assert findings_of("TXT-13", one) == []
    plumber = [
        msg(cp, "The boiler price is 300 euro", "2025-05-01T10:00:00Z"),
        msg(cp, "Call my colleague on +33 6 98 76 54 32", "2025-05-02T10:00:00Z"),
        msg(cp, "Or the office on +33 3 21 00 00 00", "2025-05-03T10:00:00Z"),
    ]
    assert findings_of("TXT-13", plumber) == []


def test_txt13_three_numbers_saved_under_the_counterparts_name() -> None:
    contact = {
        "type": "contact",
        "name": "Kak Hemn",
        "phone_numbers": ["+33612345678", "+33698765432", "+447400111222"],
    }
    records = [contact, msg("33612345678@s.whatsapp.net", "Boat to England, 1500 per person", "2025-05-01T10:00:00Z")]
    (f,) = findings_of("TXT-13", records)
    assert f.severity == "MEDIUM" and cited(f) == [("message", 1), ("contact", 1)]
    assert "saved under 'Kak Hemn' with 3 numbers in all" in f.explanation
    two = {**contact, "phone_numbers": ["+33612345678", "+33698765432"]}  # a work and a home number
    assert findings_of("TXT-13", [two, *records[1:]]) == []


# -- PHN-03 ----------------------------------------------------------------------------------------
def _crossing() -> list[dict[str, Any]]:
    return [pos(BEACH, "2025-05-18T01:30:00Z"), pos(DOVER, "2025-05-18T09:00:00Z")]


def _new_counterparts(numbers: list[str]) -> list[dict[str, Any]]:
    return [msg(n, "salam", f"2025-05-16T{10 + i // 6:02d}:{(i % 6) * 5:02d}:00Z") for i, n in enumerate(numbers)]


def test_phn03_fifteen_new_foreign_counterparts_around_a_crossing() -> None:
    numbers = [f"+3361200{i:04d}" for i in range(8)] + [f"+96475010{i:05d}" for i in range(7)]
    records = [*_crossing(), *_new_counterparts(numbers), msg("+447700900999", "hi", "2025-05-16T12:00:00Z")]
    (f,) = findings_of("PHN-03", records)
    assert f.severity == "HIGH" and f.family == "phones"
    assert sorted(cited(f)) == [("message", i) for i in range(1, 17)]
    assert (
        "16 counterparts first seen" in f.explanation and "15 of them with a country code outside GB" in f.explanation
    )


def test_phn03_look_alikes_stay_quiet() -> None:
    uk = [f"+4477009001{i:02d}" for i in range(15)]
    assert findings_of("PHN-03", [*_crossing(), *_new_counterparts(uk)]) == []  # a new arrival's UK contacts
    foreign = [f"+3361200{i:04d}" for i in range(15)]
    assert findings_of("PHN-03", _new_counterparts(foreign)) == []  # no crossing indicator on the device
    old = [msg(n, "salam", "2025-03-01T10:00:00Z") for n in foreign]  # known for months, not new
    assert findings_of("PHN-03", [*_crossing(), *old, *_new_counterparts(foreign)]) == []


# -- MED-02 ----------------------------------------------------------------------------------------
def _spread(recipients: int, caption: str = "Boat to England, 100% safe") -> list[dict[str, Any]]:
    media = {"media": {"file_hash": HASH}}
    seed = msg("+9647501234567", caption, "2025-05-10T10:00:00Z", extra=media)
    sent = [msg(f"+3370000000{i}", None, f"2025-05-10T11:0{i}:00Z", "outgoing", extra=media) for i in range(recipients)]
    return [seed, *sent]


def test_med02_crossing_video_sent_to_five() -> None:
    (f,) = findings_of("MED-02", _spread(5))
    assert f.severity == "HIGH" and f.family == "media"
    assert cited(f) == [("message", i) for i in range(1, 7)]
    assert "sent to 5 distinct recipients" in f.explanation


def test_med02_look_alikes_stay_quiet() -> None:
    assert findings_of("MED-02", _spread(3)) == []  # a relative's video shown to a few people
    assert findings_of("MED-02", _spread(6, "Our holiday on the beach")) == []  # not crossing media


def test_med02_and_phn03_give_the_same_findings_without_the_store() -> None:
    """The whole-case counts run in SQL on a case store and as a stream on records written as data."""
    numbers = [f"+3361200{i:04d}" for i in range(8)] + [f"+96475010{i:05d}" for i in range(7)]
    records = [*_crossing(), *_new_counterparts(numbers), *_spread(5)]
    store = load_records(records)
    try:
        streamed = evaluate(PACK, store.all, describer(store), example_watchlists())
        stored = evaluate(PACK, store.all, describer(store), example_watchlists(), store=store)
        for rule_id in ("MED-02", "PHN-03"):
            a = [(f.severity, cited(f)) for f in streamed if f.rule_id == rule_id]
            b = [(f.severity, cited(f)) for f in stored if f.rule_id == rule_id]
            assert a == b and len(a) == 1, rule_id
    finally:
        store.close()


# -- MED-04 ----------------------------------------------------------------------------------------
FORECAST = "https://www.windy.com/50.95/1.85 no waves Friday night, the game is on"


def test_med04_forecast_with_crossing_talk_sent_received_and_to_three() -> None:
    (sent,) = findings_of("MED-04", [msg("+33612345678", FORECAST, "2025-05-14T18:00:00Z", "outgoing")])
    (received,) = findings_of("MED-04", [msg("+33612345678", FORECAST, "2025-05-14T18:00:00Z")])
    three = [msg(f"+3361234567{i}", FORECAST, f"2025-05-14T18:0{i}:00Z", "outgoing") for i in range(3)]
    (broadcast,) = findings_of("MED-04", three)
    assert (sent.severity, received.severity, broadcast.severity) == ("MEDIUM", "LOW", "HIGH")
    assert "link to windy.com (a weather or sea forecast site)" in sent.explanation
    assert cited(broadcast) == [("message", 1), ("message", 2), ("message", 3)]


def test_med04_forecast_wording_without_a_link() -> None:
    body = "Le passeur dit: mer calme vendredi, pas de vagues"
    (f,) = findings_of("MED-04", [msg("+33612345678", body, "2025-05-14T18:00:00Z", "outgoing")])
    assert f.severity == "MEDIUM" and "(weather, M)" in f.explanation


def test_med04_a_sailors_forecast_stays_quiet() -> None:
    body = "windy.com says calm sea on Saturday, we sail from Boulogne at 9"
    assert findings_of("MED-04", [msg("+33612345678", body, "2025-05-14T18:00:00Z", "outgoing")]) == []


# -- PAY-03 ----------------------------------------------------------------------------------------
def _receipt(cp: str, amount: float, context: str, day: int, offset: int) -> list[dict[str, Any]]:
    ref = f"r{cp}"
    return [
        msg(cp, context, f"2025-05-{day:02d}T10:00:00Z"),
        msg(
            cp,
            f"Payment sent £{amount:g} to sort code 12-34-56 account 12345678",
            f"2025-05-{day:02d}T10:30:00Z",
            ref=ref,
        ),
        {"type": "payment", "method": "uk_account", "identifier": "12-34-56 12345678", "message": ref},
        {"type": "payment", "method": "amount", "amount": amount, "currency": "GBP", "message": ref},
    ]


def test_pay03_receipt_in_crossing_talk_then_three_payers() -> None:
    (one,) = findings_of("PAY-03", _receipt("+447700900001", 2000, "Boat to England on Friday", 10, 0))
    assert one.severity == "MEDIUM" and cited(one) == [("message", 1), ("message", 2)]
    payers = [r for i in range(3) for r in _receipt(f"+44770090000{i}", 2000, "Boat to England on Friday", 10 + i, i)]
    many = findings_of("PAY-03", payers)
    assert [f.severity for f in many] == ["HIGH"] * 3
    assert "payment details received from 3 distinct counterparts" in many[0].explanation
    assert many[0].extra["escalated_by"] == ["distinct_payers"] and "escalated_by" not in one.extra


def test_pay03_receipt_wording_instead_of_an_account() -> None:
    records = [
        msg("+447700900001", "Traversée vendredi", "2025-05-10T10:00:00Z"),
        msg("+447700900001", "Virement effectué 1500 €", "2025-05-10T10:30:00Z", ref="r"),
        {"type": "payment", "method": "amount", "amount": 1500, "currency": "EUR", "message": "r"},
    ]
    (f,) = findings_of("PAY-03", records)
    assert f.severity == "MEDIUM" and "(receipt, M)" in f.explanation


def test_pay03_look_alikes_stay_quiet() -> None:
    assert findings_of("PAY-03", _receipt("+447700900001", 900, "Here is the rent for May", 10, 0)) == []
    assert findings_of("PAY-03", _receipt("+447700900001", 80, "Boat to England on Friday", 10, 0)) == []  # too small


# -- PAY-04 ----------------------------------------------------------------------------------------
LEDGER = "Boat Friday:\nAhmed 2500 paid\nKarwan 2500\nDilan 2000 paid\nRebwar 2500\nSaman 1.5k half\n+33612345678 2500"


def test_pay04_ledger_written_and_received() -> None:
    (own,) = findings_of("PAY-04", [msg("+9647501234567", LEDGER, "2025-05-10T10:00:00Z", "outgoing")])
    (got,) = findings_of("PAY-04", [msg("+9647501234567", LEDGER, "2025-05-10T10:00:00Z")])
    assert (own.severity, got.severity) == ("HIGH", "MEDIUM")
    assert "6 rows of a name or number with an amount" in own.explanation and cited(own) == [("message", 1)]


def test_pay04_look_alikes_stay_quiet() -> None:
    rents = "Rents May:\nFlat 1 Smith 650\nFlat 2 Jones 700\nFlat 3 Brown 650\nFlat 4 Patel 720\nFlat 5 Khan 680"
    records = [
        msg("+447700900001", rents, "2025-05-10T10:00:00Z", "outgoing"),
        msg("+447700900001", "See you in London next week", "2025-05-10T11:00:00Z", "outgoing"),
    ]
    assert findings_of("PAY-04", records) == []
    shopping = "Boat trip food:\nbread 3\nmilk 2\nwater 12\nfuel 80\nfish 25"  # crossing words, small sums
    assert findings_of("PAY-04", [msg("+447700900001", shopping, "2025-05-10T10:00:00Z", "outgoing")]) == []


def test_med04_link_followed_by_punctuation() -> None:
    body = "Look at windy.com, no waves for the crossing on Friday."
    (f,) = findings_of("MED-04", [msg("+33612345678", body, "2025-05-14T18:00:00Z", "outgoing")])
    assert "link to windy.com" in f.explanation
    other = "Look at notwindy.company.org, the crossing is on Friday"  # a longer name is not the site
    assert findings_of("MED-04", [msg("+33612345678", other, "2025-05-14T18:00:00Z", "outgoing")]) == []


# -- the record-level helpers ----------------------------------------------------------------------
def test_ledger_rows_and_numbers_in_text() -> None:
    rows = ledger_rows("Ahmed 2,500\n+33612345678 1500\ntotal 9000\n2500 euro\nbread 3", 300, 25000)
    assert rows == ["Ahmed 2,500", "+33612345678 1500"]  # "total" and a bare sum name nobody
    assert numbers_in("new: +33 6 98 76 54 32, old 0612345678, MTCN 1234567890", "+33612345678") == ["33698765432"]


# digits of several scripts (ASCII, Arabic-Indic, Persian), the separators and letters the patterns read
NUMBERISH = st.text(alphabet=st.sampled_from(list("0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹ -.,\u202f+kKa\n")), max_size=40)


@given(NUMBERISH)
def test_a_text_the_prefilter_passes_over_holds_no_ledger_row_and_no_number(text: str) -> None:
    """rules/candidates.py keeps a thread's message for PAY-04 and TXT-13 only when may_hold_number says it may
    hold an amount or a phone number: it must never say no where ledger_rows or numbers_in find one."""
    if not may_hold_number(text):
        assert ledger_rows("Ahmed " + text, 0, 10**12) == []
        assert numbers_in(text) == []


def test_the_prefilter_lets_through_amounts_and_numbers_and_not_chatter() -> None:
    for text in ("1500 euro", "2.5k each", "5 k", "07700 900456", "٣٠٠ يورو", "+44 7700-900.456"):
        assert may_hold_number(text), text
    # the shortest of each: nine digits, a separator between each two; 300 (PAY-04's least); a digit before k
    assert numbers_in("+4 4 7 7 0 0 9 0 0") and may_hold_number("+4 4 7 7 0 0 9 0 0")
    assert ledger_rows("Ali 300", 300, 1000) and may_hold_number("Ali 300")
    assert ledger_rows("Ali 1k", 300, 1000) and may_hold_number("Ali 1k")
    for text in ("I'll be there in 10 minutes", "ok 12", "", None, "see you at 7.30"):
        assert not may_hold_number(text), text
