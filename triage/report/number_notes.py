"""Why a cited phone number is given the country it is: the statement's note on each ambiguous number.

A national number such as 07501234567 is valid in the United Kingdom and in Iraq; +44 7911 1… numbers
are placed by the numbering-plan data in Guernsey, not Great Britain. triage/identifiers/phones.py never guesses:
the Party record (triage/enrich/parties.py) keeps the country it could tell, the reason (`basis`) and every
country the stored forms fit (`candidates`, `ambiguous`). The statement explains, for each such number a
finding cites, which countries it fits and why the one given was chosen (issue 15 item 9), so nobody
reads a country code as a fact about the person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.identifiers.phones import SHARED_CODE_TERRITORIES
from triage.model.records import Party

NUMBERS_NOTED = 100  # ambiguous cited numbers explained at most (a statement's size follows the findings)
_CANDIDATE = re.compile(r"^(\+\d+) \(([A-Z]{2})\)$")


@dataclass(frozen=True)
class NumberNote:
    number: str  # the E.164 form given, or the stored forms when no country could be told
    names: list[str]
    stored_as: list[str]
    explanation: list[str]  # sentences
    facts: list[int]  # numbers of the statement's facts whose records it is linked from


def country_name(region: str | None) -> str:
    """'Guernsey (GG)'; the code alone when it is not a known country."""
    if not region:
        return "no country"
    import mobile_codes

    try:
        return f"{mobile_codes.alpha2(region).name} ({region})"
    except KeyError:
        return region


def explain(party: Any) -> list[str]:
    """Sentences saying which countries the number fits, which one the report gives and why."""
    fits = [m.groups() for m in (_CANDIDATE.match(c) for c in party.candidates or []) if m]
    out = []
    if fits:
        out.append(
            "Its stored forms fit more than one country: "
            + "; ".join(f"{country_name(region)} as {e164}" for e164, region in fits)
            + "."
        )
    if party.e164:
        out.append(
            f"The report gives {party.e164}, {country_name(party.region)}, because: {party.basis or 'not recorded'}."
        )
    else:
        out.append(f"The report gives no country: {party.basis or 'no country hint in the evidence'}.")
    regions = {region for _, region in fits} | ({party.region} if party.region else set())
    shared = sorted(regions & set(SHARED_CODE_TERRITORIES))
    if shared:
        out.append(
            f"The calling code +44 is shared by the United Kingdom (GB), Guernsey (GG), Jersey (JE) and the "
            f"Isle of Man (IM); the numbering-plan data used (libphonenumber {phonenumbers.__version__}) "
            f"places this number's range in {', '.join(country_name(r) for r in shared)}."
        )
    out.append(
        "A number's country says where the number was allocated, not where its user is or was, nor "
        "the user's nationality."
    )
    return out


def ambiguous_cited(session: Session, cited_facts: dict[tuple[str, int], int]) -> tuple[list[NumberNote], int]:
    """The notes for every ambiguous number linked from a cited record, in the order of the first fact citing
    it (at most NUMBERS_NOTED), and how many more there are. `cited_facts`: (record type, id) → fact number.

    Only ambiguous parties are read, one by one (a phone has a few of them among thousands of numbers)."""
    notes: list[tuple[int, NumberNote]] = []
    statement = select(Party).where(Party.ambiguous.is_(True)).order_by(Party.id).execution_options(yield_per=500)
    for party in session.scalars(statement):
        facts = sorted({cited_facts[key] for key in _linked(party.refs) if key in cited_facts})
        if facts:
            notes.append(
                (
                    facts[0],
                    NumberNote(
                        party.e164 or ", ".join(party.raw_forms or []),
                        list(party.names or []),
                        list(party.raw_forms or []),
                        explain(party),
                        facts,
                    ),
                )
            )
    notes.sort(key=lambda n: (n[0], n[1].number))
    return [n for _, n in notes[:NUMBERS_NOTED]], max(0, len(notes) - NUMBERS_NOTED)


def _linked(refs: Iterable[Any] | None) -> Iterable[tuple[str, int]]:
    for ref in refs or []:
        # a ref without a text type cannot be cited (citations are keyed by (type, id)): left out as before
        if isinstance(ref, dict) and isinstance(ref.get("type"), str) and isinstance(ref.get("id"), int):
            yield ref["type"], ref["id"]
