"""The record vocabulary, defined once: parsers build these, the store persists them, rules read
them and the report prints them (SQLAlchemy 2.x typed dataclass mappings).

Conventions
- Every evidential record carries provenance: `source_file_id` (the SourceFile with its layer chain
  and SHA-256) plus `source_table` / `source_row` (or `source_offset`) inside that file.
- Every time is three columns: `<name>_utc` (aware UTC datetime or None), `<name>_raw` (the value as
  stored) and `<name>_encoding` (see triage.model.timeutil). Use `times(name, ts)` to fill them.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, TypeDecorator, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedAsDataclass, configure_mappers, mapped_column, relationship

from triage.model.timeutil import Timestamp


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores naive text; PostgreSQL timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def times(name: str, ts: Timestamp) -> dict[str, Any]:
    """Keyword arguments filling the <name>_utc / _raw / _encoding columns from a decoded Timestamp."""
    return {f"{name}_utc": ts.utc, f"{name}_raw": ts.raw, f"{name}_encoding": ts.encoding}


class _StateOnFirstUse:
    """The ORM's bookkeeping of a record `build` made, created the first time the ORM asks for it.

    Most built records go straight into the store, which reads their values from `__dict__` and never needs
    the ORM's state: a phone's million records skip making one each. A record the ORM does handle (added to a
    session, a link set, an attribute assigned) gets its state then, as the constructor would have made it.
    Records made otherwise are untouched: the constructor asks while the record is still empty (this says
    "no state yet", and the constructor makes it as usual), the ORM's loading sets it itself."""

    def __get__(self, record: Any, owner: type) -> Any:
        if record is None or not record.__dict__:
            raise AttributeError("_sa_instance_state")
        manager = owner._sa_class_manager  # type: ignore[attr-defined]
        state = manager._state_constructor(record, manager)
        manager._state_setter(record, state)  # into the record's __dict__: asked once
        return state


class Base(MappedAsDataclass, DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}
    _sa_instance_state = _StateOnFirstUse()  # built records: the ORM's state only when the ORM needs it

    # the `type` value of this record in JSONL exports and finding references
    record_type: ClassVar[str] = ""

    if TYPE_CHECKING:  # every record table declares its own; said here so code over any record type is checked
        id: Mapped[int]


class SourceFile(Base):
    """A file inside the evidence that a parser read: the anchor of every record's provenance."""

    __tablename__ = "source_file"
    record_type = "source_file"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    path: Mapped[str] = mapped_column(Text)
    layers: Mapped[list[Any]]
    provenance: Mapped[str] = mapped_column(Text)  # "EWF x.E01 → GPT partition 2 'userdata' → ext4 → /path"
    volume: Mapped[str] = mapped_column(String(32), default="")
    inode: Mapped[str | None] = mapped_column(String(64), default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    parser: Mapped[str | None] = mapped_column(String(64), default=None)
    # parsed / parsed with warnings / parsed in part / not parsed (no parser could read it: the reason is a warning)
    status: Mapped[str] = mapped_column(String(32), default="parsed")
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    mtime: Mapped[datetime | None] = mapped_column(default=None)
    # the name's bytes as the evidence stores them, hex, when `path` shows them otherwise (not UTF-8:
    # \xNN escapes; a zip's code page 437): the original name stays recoverable (FileEntry.raw_name_hex)
    raw_name_hex: Mapped[str | None] = mapped_column(Text, default=None)
    # the schema generation each SQLite parser recognised the file as ("whatsapp_android: modern (message
    # table)"; `Schema` in parsers/base.py): which layout the records were read from; None for other files
    schema: Mapped[str | None] = mapped_column(Text, default=None)


class Provenanced(MappedAsDataclass):
    """Columns every evidential record has; set by the pipeline from the parser's SourceFile."""

    source_table: Mapped[str | None] = mapped_column(String(64), default=None, kw_only=True)
    source_row: Mapped[str | None] = mapped_column(String(64), default=None, kw_only=True)
    source_offset: Mapped[int | None] = mapped_column(BigInteger, default=None, kw_only=True)
    # SHA-256 of the source row's values (triage/parsing/row_digest.py, docs/row_digest.md): which row, re-derivable
    source_row_sha256: Mapped[str | None] = mapped_column(String(64), default=None, kw_only=True)
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("source_file.id"), default=None, kw_only=True)


class EvidenceItem(Base):
    """The exhibit as received: container files, media hashes before and after the run."""

    __tablename__ = "evidence_item"
    record_type = "evidence_item"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    source: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    container_files: Mapped[list[Any]]
    media: Mapped[dict[str, Any]]  # MediaHashes.to_json() at the start of the run
    files_sha256_before: Mapped[dict[str, Any]]
    files_sha256_after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    unchanged: Mapped[bool | None] = mapped_column(default=None)


class Device(Base, Provenanced):
    __tablename__ = "device"
    record_type = "device"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    manufacturer: Mapped[str | None] = mapped_column(String(128), default=None)
    model: Mapped[str | None] = mapped_column(String(128), default=None)
    os_name: Mapped[str | None] = mapped_column(String(64), default=None)
    os_version: Mapped[str | None] = mapped_column(String(64), default=None)
    serial: Mapped[str | None] = mapped_column(String(128), default=None)
    imei: Mapped[list[Any]] = mapped_column(JSON, default_factory=list)
    phone_numbers: Mapped[list[Any]] = mapped_column(JSON, default_factory=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default_factory=dict)


class Account(Base, Provenanced):
    __tablename__ = "account"
    record_type = "account"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    app: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(256))  # phone number, user id, handle
    display_name: Mapped[str | None] = mapped_column(Text, default=None)


class Contact(Base, Provenanced):
    __tablename__ = "contact"
    record_type = "contact"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    app: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text, default=None)
    phone_numbers: Mapped[list[Any]] = mapped_column(JSON, default_factory=list)
    emails: Mapped[list[Any]] = mapped_column(JSON, default_factory=list)
    handles: Mapped[list[Any]] = mapped_column(JSON, default_factory=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default_factory=dict)


class Message(Base, Provenanced):
    __tablename__ = "message"
    record_type = "message"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    app: Mapped[str] = mapped_column(String(64))  # "sms", "mms", "whatsapp", "telegram" …
    thread: Mapped[str | None] = mapped_column(String(256))
    direction: Mapped[str] = mapped_column(String(16))  # incoming / outgoing / draft / unknown
    counterpart: Mapped[str | None] = mapped_column(String(256))  # the other party's address / id
    sender: Mapped[str | None] = mapped_column(String(256))  # None = the device owner for outgoing
    body: Mapped[str | None] = mapped_column(Text)
    time_utc: Mapped[datetime | None]
    time_raw: Mapped[Any] = mapped_column(JSON, nullable=True)
    time_encoding: Mapped[str] = mapped_column(String(32))
    sent_utc: Mapped[datetime | None] = mapped_column(default=None)
    sent_raw: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    sent_encoding: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str | None] = mapped_column(String(64), default=None)  # app status as read (type, box …)
    read: Mapped[bool | None] = mapped_column(default=None)
    deleted: Mapped[bool] = mapped_column(default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default_factory=dict)


class Call(Base, Provenanced):
    __tablename__ = "call"
    record_type = "call"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    app: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(16))  # incoming / outgoing / missed / rejected …
    counterpart: Mapped[str | None] = mapped_column(String(256))
    time_utc: Mapped[datetime | None]
    time_raw: Mapped[Any] = mapped_column(JSON, nullable=True)
    time_encoding: Mapped[str] = mapped_column(String(32))
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    video: Mapped[bool | None] = mapped_column(default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default_factory=dict)


class MediaFile(Base, Provenanced):
    __tablename__ = "media_file"
    record_type = "media_file"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    path: Mapped[str] = mapped_column(Text)  # on-device path
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    mime: Mapped[str | None] = mapped_column(String(64), default=None)
    make: Mapped[str | None] = mapped_column(String(128), default=None)
    model: Mapped[str | None] = mapped_column(String(128), default=None)
    software: Mapped[str | None] = mapped_column(String(128), default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    taken_utc: Mapped[datetime | None] = mapped_column(default=None)
    taken_raw: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    taken_encoding: Mapped[str | None] = mapped_column(String(32), default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default_factory=dict)


class Location(Base, Provenanced):
    """A position the device holds, WGS84 decimal degrees, with where it came from."""

    __tablename__ = "location"
    record_type = "location"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    origin: Mapped[str] = mapped_column(String(64))  # "exif", "whatsapp message", "photos.sqlite" …
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    altitude_m: Mapped[float | None] = mapped_column(Float, default=None)
    accuracy_m: Mapped[float | None] = mapped_column(Float, default=None)
    time_utc: Mapped[datetime | None] = mapped_column(default=None)
    time_raw: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    time_encoding: Mapped[str | None] = mapped_column(String(32), default=None)
    label: Mapped[str | None] = mapped_column(Text, default=None)  # file name, venue title …
    media_file_id: Mapped[int | None] = mapped_column(ForeignKey("media_file.id"), default=None)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default_factory=dict)
    # parsers link a position to the photo or message it came from before either has an id
    media_file: Mapped[MediaFile | None] = relationship(default=None, repr=False)
    message: Mapped[Message | None] = relationship(default=None, repr=False)


class Payment(Base, Provenanced):
    __tablename__ = "payment"
    record_type = "payment"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    method: Mapped[str] = mapped_column(String(64))  # identifier kind: iban, btc, mtcn, app …
    identifier: Mapped[str | None] = mapped_column(String(256), default=None)
    amount: Mapped[float | None] = mapped_column(Float, default=None)
    currency: Mapped[str | None] = mapped_column(String(8), default=None)
    direction: Mapped[str | None] = mapped_column(String(16), default=None)
    counterpart: Mapped[str | None] = mapped_column(String(256), default=None)
    context: Mapped[str | None] = mapped_column(Text, default=None)
    time_utc: Mapped[datetime | None] = mapped_column(default=None)
    time_raw: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    time_encoding: Mapped[str | None] = mapped_column(String(32), default=None)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), default=None)
    # source record {"type", "id", "field"}, validation evidence, raw text, app-specific fields
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default_factory=dict)
    message: Mapped[Message | None] = relationship(default=None, repr=False)


class Party(Base):
    """One person or number seen across sources (contacts, messages, calls), linked by phone number.

    Derived after parsing (triage/enrich/parties.py), never parsed: `refs` names every record it is linked
    from, with the raw string each stored, so a link can always be checked against the evidence.
    """

    __tablename__ = "party"
    record_type = "party"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    key: Mapped[str] = mapped_column(String(64))  # E.164, or "national:<digits>" when the country is unknown
    e164: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(8))
    basis: Mapped[str | None] = mapped_column(Text)  # why the country is known (or why not)
    ambiguous: Mapped[bool] = mapped_column()
    candidates: Mapped[list[Any]]  # every E.164 reading when the national number fits several countries
    names: Mapped[list[Any]]  # display names seen, sorted
    apps: Mapped[list[Any]]  # apps it appears in, sorted
    raw_forms: Mapped[list[Any]]  # the strings as stored, sorted
    refs: Mapped[list[Any]]  # [{"type": "message", "id": 3, "field": "counterpart", "raw": "+44…"}]


class Finding(Base):
    """An indicator for a human to weigh — never a conclusion. Cites the records it rests on."""

    __tablename__ = "finding"
    record_type = "finding"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    rule_id: Mapped[str] = mapped_column(String(32))
    rule_version: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]]  # [{"type": "location", "id": 3, "provenance": "…", "sha256": "…"}]
    time_utc: Mapped[datetime | None] = mapped_column(default=None)
    family: Mapped[str] = mapped_column(String(32), default="")  # geo / comms / payments / … (composites)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default_factory=dict)  # role hint, received-only …


class ParseWarning(Base):
    """Something that could not be read, or was read only in part: listed in the report."""

    __tablename__ = "parse_warning"
    record_type = "parse_warning"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    stage: Mapped[str] = mapped_column(String(32))  # evidence / parser / rules / report
    component: Mapped[str] = mapped_column(String(64))  # parser or reader name
    level: Mapped[str] = mapped_column(String(16))  # warning / not parsed / error
    message: Mapped[str] = mapped_column(Text)
    provenance: Mapped[str | None] = mapped_column(Text, default=None)
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("source_file.id"), default=None)


class CustodyEvent(Base):
    """A copy of each custody-log entry, so the case store carries its own examination record."""

    __tablename__ = "custody_event"
    record_type = "custody_event"
    id: Mapped[int] = mapped_column(primary_key=True, init=False)
    seq: Mapped[int] = mapped_column(Integer)
    time_utc: Mapped[datetime]
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]
    prev_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))


# record types exported as records/<type>.jsonl, in report order
EXPORTED_RECORDS: tuple[type[Base], ...] = (
    EvidenceItem,
    Device,
    Account,
    Contact,
    Message,
    Call,
    MediaFile,
    Location,
    Payment,
    Party,
    SourceFile,
    ParseWarning,
    CustodyEvent,
)


R = TypeVar("R", bound=Base)


def build(cls: type[R], **values: Any) -> R:
    """The record `cls(**values)` would make, without the ORM's per-attribute bookkeeping (several times
    faster): for parsers that emit a phone's hundreds of thousands of messages. The values go straight into
    the instance's dict with the defaults of the fields not given; a field the class does not have, or a
    required one left out, is a TypeError as with the constructor. Works because records are new when
    built: the store inserts them from that dict and the ORM inserts a new object's dict as it stands. The
    ORM's per-record state is made only if the ORM ever handles the record (_StateOnFirstUse)."""
    plan = _BUILD_PLANS.get(cls)
    if plan is None:
        plan = _BUILD_PLANS[cls] = _build_plan(cls)
    required, defaults, factories, allowed, links, _ = plan
    given = values.keys()
    if not (given <= allowed and given >= required):
        raise TypeError(
            f"{cls.__name__}: unknown fields {sorted(given - allowed)}, missing fields {sorted(required - given)}"
        )
    record = cls.__new__(cls)  # no ORM state until the ORM asks for it (_StateOnFirstUse)
    state = record.__dict__
    state.update(defaults)
    for name, factory in factories:
        if name not in values:
            state[name] = factory()
    if not links:  # most record types link to no other record
        state.update(values)
        return record
    linked = [(name, values.pop(name)) for name in links if values.get(name) is not None]
    state.update(values)
    for name, target in linked:  # through the ORM: a flush fills the foreign key from this link
        setattr(record, name, target)
    return record


# build's plan per record type, looked up directly (a functools.cache call costs more, a million times)
_BUILD_PLANS: dict[
    type, tuple[frozenset[str], dict[str, Any], tuple[tuple[str, Any], ...], frozenset[str], tuple[str, ...], Any]
] = {}


@functools.cache
def unset_values(cls: type[Base]) -> dict[str, Any]:
    """What reading each attribute of a new record never set gives: its default, as after the constructor
    (the store fills a column the record leaves unset with it, as an ORM insert would)."""
    configure_mappers()
    blank = inspect(cls).class_manager.new_instance()
    return {attr.key: getattr(blank, attr.key) for attr in inspect(cls).attrs}


@functools.cache
def _build_plan(
    cls: type[Base],
) -> tuple[frozenset[str], dict[str, Any], tuple[tuple[str, Any], ...], frozenset[str], tuple[str, ...], Any]:
    """Per record type, once: required fields, scalar defaults, default factories, every init field, the
    relationships (links to other records)."""
    configure_mappers()
    mapper = inspect(cls)
    manager = mapper.class_manager
    unset = unset_values(cls)
    required, defaults, factories, allowed = set(), {}, [], set()
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        allowed.add(f.name)
        if f.default_factory is not dataclasses.MISSING:
            factories.append((f.name, f.default_factory))
        elif f.default is dataclasses.MISSING:
            required.add(f.name)
        else:
            defaults[f.name] = unset[f.name]
    links = tuple(relationship.key for relationship in mapper.relationships)
    return frozenset(required), defaults, tuple(factories), frozenset(allowed), links, manager
