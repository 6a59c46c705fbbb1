from pathlib import Path

import pytest

from rules.engine import DEFAULT_PACK, escalated_severity, geofence_hits, load_pack
from triage.model.records import Location
from triage.model.timeutil import decode

PACK = load_pack(DEFAULT_PACK)
GEO01 = next(r for r in PACK.rules if r.id == "GEO-01")


def as_location(example: dict) -> Location:
    fields = {k: v for k, v in example.items() if k != "type"}
    return Location(**fields)


@pytest.mark.parametrize("example", GEO01.examples["positive"])
def test_positive_examples_fire(example):
    assert len(geofence_hits(GEO01, PACK.zones, [as_location(example)])) == 1


@pytest.mark.parametrize("example", [e for e in GEO01.examples["negative"] if "records" not in e])
def test_negative_examples_do_not_fire(example):
    assert geofence_hits(GEO01, PACK.zones, [as_location(example)]) == []


def test_night_or_second_day_raises_severity():
    day = decode(1746270000, "unix_s").utc  # 2025-05-03 11:00 UTC = 13:00 Paris
    night = decode(1746234000, "unix_s").utc  # 2025-05-03 01:00 UTC = 03:00 Paris
    assert escalated_severity(GEO01, [day]) == ("LOW", [])
    severity, why = escalated_severity(GEO01, [night])
    assert severity == "MEDIUM" and len(why) == 1 and "local time (Europe/Paris)" in why[0]
    assert escalated_severity(GEO01, [day, decode(1746356400, "unix_s").utc])[0] == "MEDIUM"


def test_pack_identity_names_data_hashes():
    ident = PACK.identity()
    assert ident["rules"]["GEO-01"] == "1.2" and len(ident["data"]["zones.geojson"]) == 64
    lexicon = Path(DEFAULT_PACK).parent.parent / "data" / "lexicon.yaml"
    assert ident["data"]["lexicon.yaml"] == __import__("hashlib").sha256(lexicon.read_bytes()).hexdigest()
    assert ident["sha256"] == __import__("hashlib").sha256(Path(DEFAULT_PACK).read_bytes()).hexdigest()


def test_escalated_severity_gives_a_list_of_notes_with_or_without_records():
    night = decode(1746234000, "unix_s").utc
    with_records, without = escalated_severity(GEO01, [night], []), escalated_severity(GEO01, [night])
    assert with_records == without and isinstance(without[1], list) and len(without[1]) == 1
    assert escalated_severity(GEO01, [], []) == escalated_severity(GEO01, []) == ("LOW", [])
