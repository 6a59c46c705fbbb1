"""One scan of the message text shared by the passes that read it: payments and the crossing lexicon.

Most messages are chatter that names no payment and no crossing word. One pass over (id, body) of every
message asks both questions at once: may the text hold a payment (`triage.enrich.payments.may_hold_payment`, a
necessary condition), and which lexicon terms does it hold (`rules.lexicon.Lexicon.match`). The payments
pass then reads in full only the messages that may hold a payment, and the rules engine only the messages
some rule could use. The scan keeps ids and hits, never the texts: memory grows with what was found.

The scan can be made in parts by id (`from_id`, `before_id`) and the parts joined (`joined`): `triage run` scans
the later part of a large phone's messages in a fork while it scans the first (triage/run/passes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select

from triage.enrich.payments import may_hold_payment
from triage.model.records import Message
from triage.store.rows import column_rows

if TYPE_CHECKING:
    from rules.lexicon import Lexicon, LexiconHit
    from triage.store.rows import StoreReader


@dataclass
class MessageTextScan:
    may_hold_payment: list[int] = field(default_factory=list)  # message ids, in id order
    lexicon_hits: dict[int, list[LexiconHit]] = field(default_factory=dict)  # only messages with hits
    lexicon: Lexicon | None = None  # the lexicon the hits come from; None: not scanned for words
    # ids of the messages whose folded text `mentions` accepted (rules/context.py: journalism, legal advice…);
    # None: not asked
    context_mentions: set[int] | None = None


def scan_message_text(
    store: StoreReader,
    lexicon: Lexicon | None = None,
    mentions: Callable[[str], bool] | None = None,
    from_id: int | None = None,
    before_id: int | None = None,
) -> MessageTextScan:
    """`mentions` is asked of each message's text as the lexicon folds it, so it is folded once. Only the messages
    with from_id <= id < before_id when given."""
    scan = MessageTextScan(lexicon=lexicon, context_mentions=set() if mentions and lexicon else None)
    bounds = [
        *([Message.id >= from_id] if from_id is not None else []),
        *([Message.id < before_id] if before_id is not None else []),
    ]
    for row in column_rows(store, Message, ("id", "body"), and_(*bounds) if bounds else None):
        if not row.body:
            continue
        if may_hold_payment(row.body):
            scan.may_hold_payment.append(row.id)
        if lexicon is not None:
            folded = lexicon.normalised(row.body)
            hits = lexicon.match_folded(folded)
            if hits:
                scan.lexicon_hits[row.id] = hits
            if scan.context_mentions is not None and mentions is not None and mentions(folded):
                scan.context_mentions.add(row.id)
    return scan


def joined(first: MessageTextScan, then: MessageTextScan) -> MessageTextScan:
    """The scan of two parts of the messages, `first` all before `then` by id, as one scan of both would be."""
    mentions = None
    if first.context_mentions is not None and then.context_mentions is not None:
        mentions = first.context_mentions | then.context_mentions
    return MessageTextScan(
        may_hold_payment=[*first.may_hold_payment, *then.may_hold_payment],
        lexicon_hits={**first.lexicon_hits, **then.lexicon_hits},
        lexicon=first.lexicon,
        context_mentions=mentions,
    )


def split_id(store: StoreReader, first_share: float, at_least: int) -> int | None:
    """The id from which the messages after the first `first_share` of them (by count, in id order) start; None
    for fewer than `at_least` messages."""
    store.flush()
    count = store.session.scalar(select(func.count()).select_from(Message)) or 0
    if count < max(at_least, 2):
        return None
    first = min(max(int(count * first_share), 1), count - 1)
    return store.session.scalar(select(Message.id).order_by(Message.id).offset(first).limit(1))
