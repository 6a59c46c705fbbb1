"""One scan of the message text shared by the passes that read it: payments and the crossing lexicon.

Most messages are chatter that names no payment and no crossing word. One pass over (id, body) of every
message asks both questions at once: may the text hold a payment (`triage.enrich.payments.may_hold_payment`, a
necessary condition), and which lexicon terms does it hold (`rules.lexicon.Lexicon.match`). The payments
pass then reads in full only the messages that may hold a payment, and the rules engine only the messages
some rule could use. The scan keeps ids and hits, never the texts: memory grows with what was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from triage.enrich.payments import may_hold_payment
from triage.model.records import Message
from triage.store.rows import column_rows

if TYPE_CHECKING:
    from rules.lexicon import Lexicon, LexiconHit
    from triage.store import CaseStore


@dataclass
class MessageTextScan:
    may_hold_payment: list[int] = field(default_factory=list)  # message ids, in id order
    lexicon_hits: dict[int, list[LexiconHit]] = field(default_factory=dict)  # only messages with hits
    lexicon: Lexicon | None = None  # the lexicon the hits come from; None: not scanned for words


def scan_message_text(store: CaseStore, lexicon: Lexicon | None = None) -> MessageTextScan:
    scan = MessageTextScan(lexicon=lexicon)
    for row in column_rows(store, Message, ("id", "body")):
        if not row.body:
            continue
        if may_hold_payment(row.body):
            scan.may_hold_payment.append(row.id)
        if lexicon is not None:
            hits = lexicon.match(row.body)
            if hits:
                scan.lexicon_hits[row.id] = hits
    return scan
