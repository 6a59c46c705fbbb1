"""Rule evaluation over 1,000,000 messages and 100,000 locations (issue 9 target: under 60 s).

Records are built in memory (transient ORM objects, no database) with a realistic mix: ~0.5% of the
messages carry crossing vocabulary in one of the route languages, the rest are everyday chat; ~1% of the
positions fall on launch beaches or at sea. Payments are not extracted here (their own pass).

    python bench/bench_rules.py [--messages N] [--locations N]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from rules.engine import evaluate
from rules.pack import load_pack
from triage.enrich.citation import Citation
from triage.model.records import Location, Message, Payment

EVERYDAY = [
    "ok see you later",
    "where are you?",
    "happy birthday brother",
    "send me the photo",
    "تمام شكرا",
    "باشە برا",
    "merci à demain",
    "cảm ơn anh",
    "the bus is late again",
    "call me when you can",
    "I booked a taxi for Mum",
    "we played a game of football in London",
]
CROSSING = [
    "Boat to England tomorrow, 1500 euro per person",
    "بەلەم بۆ ئینگلتەرا نرخ ۱۵۰۰ یۆرۆ",
    "قارب مطاطي إلى بريطانيا، جهز سترة النجاة",
    "Áo phao và xuồng hơi qua Anh",
    "Switch off your phone and leave your bags",
    "Rrugë për Angli me gomone",
]
SPOTS = [(51.00731, 2.10158), (50.88912, 1.65837), (51.0, 1.5), (51.1128, 1.3030)]


def build(messages: int, locations: int, seed: int = 7) -> tuple[list[Message], list[Location]]:
    rng = random.Random(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    counterparts = [f"+3361234{i:04d}" for i in range(500)]
    out_messages = []
    for i in range(messages):
        body = rng.choice(CROSSING) if rng.random() < 0.005 else rng.choice(EVERYDAY)
        who = rng.choice(counterparts)
        m = Message(
            app="whatsapp",
            thread=who,
            direction=rng.choice(("incoming", "outgoing")),
            counterpart=who,
            sender=None,
            body=body,
            time_utc=t0 + timedelta(seconds=30 * i),
            time_raw=None,
            time_encoding="bench",
        )
        m.id = i + 1
        out_messages.append(m)
    out_locations = []
    for i in range(locations):
        lat, lon = rng.choice(SPOTS) if rng.random() < 0.01 else (51.5 + rng.random(), -0.5 + rng.random())
        loc = Location(origin="bench", latitude=lat, longitude=lon, time_utc=t0 + timedelta(minutes=5 * i))
        loc.id = i + 1
        out_locations.append(loc)
    return out_messages, out_locations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--locations", type=int, default=100_000)
    args = parser.parse_args()
    pack = load_pack()
    started = time.perf_counter()
    messages, locations = build(args.messages, args.locations)
    built = time.perf_counter()
    data = {Message: messages, Location: locations}

    def read(cls):  # noqa: ANN001, ANN202
        return data.get(cls, [])

    def describe(record) -> Citation:  # noqa: ANN001
        return Citation(f"{record.record_type} #{record.id}", {"type": record.record_type, "id": record.id})

    findings = evaluate(pack, read, describe)
    done = time.perf_counter()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"records built: {args.messages:,} messages, {args.locations:,} locations in {built - started:.1f} s")
    print(f"rules evaluated: {len(pack.rules)} rules, {len(findings)} findings in {done - built:.1f} s")
    print(f"peak RSS: {rss_mb:,.0f} MB")
    assert Payment  # payments are not part of this benchmark


if __name__ == "__main__":
    main()
