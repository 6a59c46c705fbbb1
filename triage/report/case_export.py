"""case.jsonld and case-records.jsonld: the run in CASE 1.4 / UCO 1.4 (docs/formats/case_uco.md), for exchange
with other tools.

Two files, because a phone holds hundreds of thousands of records and the findings rest on a handful:
- `case.jsonld` (small, sized by the findings): the analytic tool and the examiner, the evidence files
  with their hashes, the device, the records the findings cite (messages, contacts, positions, calls,
  media files, with the accounts they name), one investigative action for the run (start/end,
  instrument, performer, objects and results) and one provenance record per finding naming the records
  it rests on. It validates on its own.
- `case-records.jsonld` (beside it): every such record, with the output provenance record listing them
  all. Written node by node as the store is read (one node per line inside a hand-written "@graph"
  array): memory does not grow with the phone. It validates on its own too.
Node identifiers are UUIDv5 derived from the evidence's SHA-256 and the record's type and id, so the same
evidence gives the same graph and a node has the same `@id` in both files: a consumer that loads both
gets one graph, in which the output provenance record lists every record. Every node (facets and hashes
too) has an `@id`, as CASE requires.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Row, func, select, union

from triage import TOOL_NAME, __version__
from triage.integrity.exclusive import create_exclusive, write_text_exclusive
from triage.model.records import (
    Account,
    Base,
    Call,
    Contact,
    CustodyEvent,
    Device,
    EvidenceItem,
    Finding,
    Location,
    MediaFile,
    Message,
)
from triage.model.timeutil import iso
from triage.report.store_rows import connection, record_ids, records, records_by_id
from triage.store import CaseStore

RECORDS_FILE = "case-records.jsonld"
CONTEXT = {
    "kb": "urn:mobile-triage:kb:",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-location": "https://ontology.unifiedcyberontology.org/uco/location/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
HASH_NAMES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}
OUTPUT_DESCRIPTION = "Records extracted by the triage run"

Node = dict[str, Any]


class Graph:
    """Node identifiers, and where each node goes (a list for case.jsonld, the file for case-records.jsonld).

    Accounts and phone accounts are shared by many records: each is added once. In case-records.jsonld
    the accounts that messages and calls name are written first, from one SQL query (`accounts_listed`),
    so only the phone accounts of contacts are remembered, as identifiers (a set that grows with the
    distinct numbers in the address books, never with the records)."""

    def __init__(self, seed: str, sink: Callable[[Node], None], accounts_listed: bool = False) -> None:
        self.seed = seed
        self.sink = sink
        self.accounts_listed = accounts_listed
        self._added: set[str] = set()
        # uuid5's SHA-1 over the namespace and the name's common start, computed once: a phone has hundreds of
        # thousands of nodes (iri_uuid5 gives the same identifiers as uuid.uuid5, at half the cost)
        self._hashed_prefix = hashlib.sha1(uuid.NAMESPACE_URL.bytes + f"mobile-triage/{seed}/".encode())

    def iri(self, kind: str, key: Any) -> str:
        return f"kb:{kind}-{iri_uuid5(self._hashed_prefix, f'{kind}/{key}')}"

    def add(self, node: Node) -> str:
        self.sink(node)
        return node["@id"]

    def add_once(self, iri: str, node: Callable[[], Node]) -> str:
        if iri not in self._added:
            self._added.add(iri)
            self.add(node())
        return iri


def iri_uuid5(hashed_prefix: hashlib._Hash, rest: str) -> str:
    """str(uuid.uuid5(namespace, prefix + rest)), `hashed_prefix` being the SHA-1 state after the namespace's
    bytes and the prefix: RFC 4122 name-based version 5, the first 16 bytes of the SHA-1 with the version and
    variant bits set."""
    digest = hashed_prefix.copy()
    digest.update(rest.encode("utf-8"))
    raw = bytearray(digest.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def dt(value: Any) -> dict[str, str] | None:
    text = iso(value)
    return None if text is None else {"@type": "xsd:dateTime", "@value": text}


def decimal(value: float) -> dict[str, str]:
    return {"@type": "xsd:decimal", "@value": repr(float(value))}


def _clean(node: Node) -> Node:
    return {k: v for k, v in node.items() if v not in (None, [], "")}


def _refs(ids: Iterable[str]) -> list[dict[str, str]]:
    return [{"@id": i} for i in ids]


def graph_seed(store: CaseStore, case: dict[str, str]) -> str:
    """What node identifiers derive from: the first evidence item's SHA-256 (else the exhibit number)."""
    first = next(records(store, EvidenceItem), None)
    return (first.media.get("sha256") if first is not None and first.media else None) or case.get("exhibit") or "run"


# -- the main file ------------------------------------------------------------------------------------


def build_case(store: CaseStore, case: dict[str, str]) -> Node:
    """case.jsonld as one JSON-LD document: sized by the findings, not by the phone."""
    nodes: list[Node] = []
    seed = graph_seed(store, case)
    g = Graph(seed, nodes.append)
    tool = g.add(
        {
            "@id": g.iri("tool", TOOL_NAME),
            "@type": "uco-tool:AnalyticTool",
            "uco-core:name": TOOL_NAME,
            "uco-tool:version": __version__,
            "uco-tool:toolType": "Triage",
        }
    )
    examiner = g.add(
        {
            "@id": g.iri("examiner", case.get("examiner")),
            "@type": "uco-identity:Person",
            "uco-core:name": case.get("examiner") or "unknown",
        }
    )
    evidence = [_evidence_file(g, item) for item in records(store, EvidenceItem)]
    devices = {("device", d.id): _device(g, d) for d in records(store, Device)}
    cited = _cited_records(g, store, _citations(store))
    produced = {**devices, **cited}
    input_record = g.add(
        _clean(
            {
                "@id": g.iri("provenance-input", seed),
                "@type": "case-investigation:ProvenanceRecord",
                "case-investigation:exhibitNumber": case.get("exhibit") or None,
                "uco-core:description": "Evidence as received",
                "uco-core:object": _refs(evidence),
            }
        )
    )
    output_record = g.add(
        _clean(
            _output_record(g, case)
            | {
                "uco-core:description": f"{OUTPUT_DESCRIPTION}: the device(s) and the records the findings cite here; "
                f"every record in {RECORDS_FILE}",
                "uco-core:object": _refs(produced.values()),
            }
        )
    )
    finding_records = [_finding_record(g, f, produced, case) for f in records(store, Finding)]
    first, last = _custody_span(store)
    action = g.add(
        _clean(
            {
                "@id": g.iri("action", seed),
                "@type": "case-investigation:InvestigativeAction",
                "uco-core:name": "triaged",
                "uco-action:startTime": dt(first),
                "uco-action:endTime": dt(last),
                "uco-action:instrument": {"@id": tool},
                "uco-action:performer": {"@id": examiner},
                "uco-action:object": _refs([input_record]),
                "uco-action:result": _refs([output_record, *finding_records]),
            }
        )
    )
    g.add(
        _clean(
            {
                "@id": g.iri("investigation", case.get("case") or seed),
                "@type": "case-investigation:Investigation",
                "uco-core:name": case.get("case") or "unnamed case",
                "uco-core:object": _refs([action]),
            }
        )
    )
    return {"@context": CONTEXT, "@graph": nodes}


def _output_record(g: Graph, case: dict[str, str]) -> Node:
    """The output provenance record's identity: the same node in both files."""
    return {
        "@id": g.iri("provenance-output", g.seed),
        "@type": "case-investigation:ProvenanceRecord",
        "case-investigation:exhibitNumber": case.get("exhibit") or None,
    }


def _citations(store: CaseStore) -> dict[str, set[int]]:
    """The ids of the records the findings cite, per record type (as many as the findings cite)."""
    cited: dict[str, set[int]] = {}
    for finding in records(store, Finding):
        for ref in finding.evidence:
            if ref.get("type") in NODE_BUILDERS and isinstance(ref.get("id"), int):
                cited.setdefault(ref["type"], set()).add(ref["id"])
    return cited


def _cited_records(g: Graph, store: CaseStore, cited: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    """A node for each cited record (devices are all in the file already); (type, id) → its @id."""
    nodes = {}
    for record_type, (cls, build) in NODE_BUILDERS.items():
        if record_type != "device":
            for row in records_by_id(store, cls, cited.get(record_type, ())):
                nodes[(record_type, row.id)] = build(g, row)
    return nodes


def _custody_span(store: CaseStore) -> tuple[Any, Any]:
    """The first and last custody entry's time, computed in SQL."""
    store.flush()
    time = CustodyEvent.__table__.c.time_utc
    return connection(store).execute(select(func.min(time), func.max(time))).one()


def _finding_record(g: Graph, finding: Row[Any], produced: dict[tuple[str, int], str], case: dict[str, str]) -> str:
    objects = [
        produced[(e.get("type"), e.get("id"))] for e in finding.evidence if (e.get("type"), e.get("id")) in produced
    ]
    return g.add(
        _clean(
            {
                "@id": g.iri("finding", finding.id),
                "@type": "case-investigation:ProvenanceRecord",
                "case-investigation:exhibitNumber": case.get("exhibit") or None,
                "uco-core:name": f"{finding.rule_id} v{finding.rule_version} ({finding.severity})",
                "uco-core:description": finding.explanation,
                "uco-core:object": _refs(objects),
            }
        )
    )


def write_case(store: CaseStore, case: dict[str, str], path: Path, with_records: bool = True) -> list[Path]:
    """Write case.jsonld at `path` and, `with_records`, every record as case-records.jsonld beside it
    (case_records_path); returns the files written."""
    write_text_exclusive(path, json.dumps(build_case(store, case), ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    if not with_records:
        return [path]
    write_case_records(store, case, case_records_path(path))
    return [path, case_records_path(path)]


def case_records_path(case_path: Path) -> Path:
    return case_path.with_name(RECORDS_FILE)


# -- the full record set, streamed --------------------------------------------------------------------


class NodeWriter:
    """Writes a "@graph" array one node per line, each as it is made."""

    def __init__(self, f: IO[str]) -> None:
        self.f = f
        self.count = 0

    def __call__(self, node: Node) -> None:
        self.f.write((",\n" if self.count else "") + _compact(node))
        self.count += 1


_COMPACT = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps with these options, made once


def _compact(value: Any) -> str:
    return _COMPACT.encode(value)


def write_case_records(store: CaseStore, case: dict[str, str], path: Path) -> Path:
    """case-records.jsonld: every device, message, contact, position, call and media file, and the output
    provenance record naming them all, written node by node (the object list too, reference by reference)."""
    with create_exclusive(path, "w", encoding="utf-8", newline="") as f:
        f.write('{"@context": ' + _compact(CONTEXT) + ',\n"@graph": [\n')
        sink = NodeWriter(f)
        g = Graph(graph_seed(store, case), sink, accounts_listed=True)
        for identifier in _counterparts(store):
            g.add(_account_node(g, identifier))
        for record_type, (cls, build) in NODE_BUILDERS.items():
            for row in records(store, cls, only=NODE_COLUMNS[record_type]):
                build(g, row)
        head = _compact(
            _clean(
                _output_record(g, case)
                | {
                    "uco-core:description": f"{OUTPUT_DESCRIPTION}: every record (the findings that cite them are in "
                    "case.jsonld)"
                }
            )
        )
        f.write((",\n" if sink.count else "") + head[:-1] + ', "uco-core:object": [')
        f.writelines(
            ("" if n == 0 else ", ") + _compact({"@id": iri}) for n, iri in enumerate(_all_record_iris(g, store))
        )
        f.write("]}\n]}\n")
    return path


def _counterparts(store: CaseStore) -> Iterator[str]:
    """Each address a message or a call names, once, in order: the accounts, deduplicated by SQL."""
    store.flush()
    names = union(
        *(
            select(cls.__table__.c.counterpart.label("identifier")).where(
                cls.__table__.c.counterpart.is_not(None), cls.__table__.c.counterpart != ""
            )
            for cls in (Message, Call)
        )
    )
    query = select(names.subquery().c.identifier).order_by("identifier")
    for (identifier,) in connection(store).execute(query.execution_options(yield_per=5000)):
        yield identifier


def _all_record_iris(g: Graph, store: CaseStore) -> Iterator[str]:
    for record_type, (cls, _) in NODE_BUILDERS.items():
        for id_ in record_ids(store, cls):
            yield g.iri(iri_kind(record_type), id_)


# -- one node per record --------------------------------------------------------------------------------


def _hashes(g: Graph, owner: str, values: dict[str, str | None]) -> list[Node]:
    return [
        {
            "@id": g.iri("hash", f"{owner}/{name}"),
            "@type": "uco-types:Hash",
            "uco-types:hashMethod": HASH_NAMES[name],
            "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value.upper()},
        }
        for name, value in sorted(values.items())
        if name in HASH_NAMES and value
    ]


def _evidence_file(g: Graph, item: Row[Any]) -> str:
    iri = g.iri("evidence", item.id)
    media = item.media or {}
    return g.add(
        {
            "@id": iri,
            "@type": ["uco-observable:File", "uco-observable:Image"],
            "uco-core:hasFacet": [
                _clean(
                    {
                        "@id": g.iri("file-facet", item.id),
                        "@type": "uco-observable:FileFacet",
                        "uco-observable:fileName": Path(item.source).name,
                        "uco-observable:filePath": item.source,
                    }
                ),
                _clean(
                    {
                        "@id": g.iri("content-facet", item.id),
                        "@type": "uco-observable:ContentDataFacet",
                        "uco-observable:sizeInBytes": media.get("size"),
                        "uco-observable:hash": _hashes(g, iri, {k: media.get(k) for k in HASH_NAMES}),
                    }
                ),
            ],
        }
    )


def _device(g: Graph, device: Row[Any]) -> str:
    iri = g.iri("device", device.id)
    facets = [
        _clean(
            {
                "@id": g.iri("device-facet", device.id),
                "@type": "uco-observable:DeviceFacet",
                "uco-observable:model": device.model,
                "uco-observable:serialNumber": device.serial,
            }
        )
    ]
    if device.imei:
        facets.append(
            {
                "@id": g.iri("mobile-device-facet", device.id),
                "@type": "uco-observable:MobileDeviceFacet",
                "uco-observable:IMEI": str(device.imei[0]),
            }
        )
    return g.add({"@id": iri, "@type": "uco-observable:MobileDevice", "uco-core:hasFacet": facets})


def _account_node(g: Graph, identifier: str) -> Node:
    return {
        "@id": g.iri("account", identifier),
        "@type": "uco-observable:Account",
        "uco-core:hasFacet": [
            {
                "@id": g.iri("account-facet", identifier),
                "@type": "uco-observable:AccountFacet",
                "uco-observable:accountIdentifier": identifier,
            }
        ],
    }


def _account(g: Graph, identifier: str | None) -> str | None:
    """The account an address names (added to the graph the first time, unless all were listed first)."""
    if not identifier:
        return None
    iri = g.iri("account", identifier)
    return iri if g.accounts_listed else g.add_once(iri, lambda: _account_node(g, identifier))


def _parties(g: Graph, direction: str | None, counterpart: str | None) -> tuple[str | None, list[str]]:
    """(from, to) of a message or call: the other party sends what the device received, and is sent to
    otherwise (the device owner's own account is not known to the record)."""
    other = _account(g, counterpart)
    sender = other if direction == "incoming" else None
    return sender, [other] if direction != "incoming" and other else []


def _message(g: Graph, message: Row[Any]) -> str:
    sender, to = _parties(g, message.direction, message.counterpart)
    facet = _clean(
        {
            "@id": g.iri("message-facet", message.id),
            "@type": "uco-observable:MessageFacet",
            "uco-observable:messageText": message.body,
            "uco-observable:sentTime": dt(message.time_utc),
            "uco-observable:from": {"@id": sender} if sender else None,
            "uco-observable:to": _refs(to),
        }
    )
    return g.add({"@id": g.iri("message", message.id), "@type": "uco-observable:Message", "uco-core:hasFacet": [facet]})


def _phone_account(g: Graph, number: str) -> str:
    return g.add_once(
        g.iri("phone-account", number),
        lambda: {
            "@id": g.iri("phone-account", number),
            "@type": "uco-observable:PhoneAccount",
            "uco-core:hasFacet": [
                {
                    "@id": g.iri("phone-account-facet", number),
                    "@type": "uco-observable:PhoneAccountFacet",
                    "uco-observable:phoneNumber": str(number),
                }
            ],
        },
    )


def _contact(g: Graph, contact: Row[Any]) -> str:
    phones = [
        {
            "@id": g.iri("contact-phone", f"{contact.id}/{n}"),
            "@type": "uco-observable:ContactPhone",
            "uco-observable:contactPhoneNumber": {"@id": _phone_account(g, number)},
        }
        for n, number in enumerate(contact.phone_numbers or [])
    ]
    facet = _clean(
        {
            "@id": g.iri("contact-facet", contact.id),
            "@type": "uco-observable:ContactFacet",
            "uco-observable:displayName": contact.name,
            "uco-observable:contactPhone": phones,
        }
    )
    return g.add({"@id": g.iri("contact", contact.id), "@type": "uco-observable:Contact", "uco-core:hasFacet": [facet]})


def _location(g: Graph, loc: Row[Any]) -> str:
    facet = {
        "@id": g.iri("latlong-facet", loc.id),
        "@type": "uco-location:LatLongCoordinatesFacet",
        "uco-location:latitude": decimal(loc.latitude),
        "uco-location:longitude": decimal(loc.longitude),
    }
    if loc.altitude_m is not None:
        facet["uco-location:altitude"] = decimal(loc.altitude_m)
    return g.add(
        _clean(
            {
                "@id": g.iri("location", loc.id),
                "@type": "uco-location:Location",
                "uco-core:description": f"{loc.origin}: {loc.label}" if loc.label else loc.origin,
                "uco-core:hasFacet": [facet],
            }
        )
    )


def _call(g: Graph, call: Row[Any]) -> str:
    sender, to = _parties(g, call.direction, call.counterpart)
    facet = _clean(
        {
            "@id": g.iri("call-facet", call.id),
            "@type": "uco-observable:CallFacet",
            "uco-observable:callType": f"{call.app} {call.direction}{' video' if call.video else ''}",
            "uco-observable:startTime": dt(call.time_utc),
            # CASE's duration is whole seconds
            "uco-observable:duration": round(call.duration_s) if call.duration_s is not None else None,
            "uco-observable:from": {"@id": sender} if sender else None,
            "uco-observable:to": _refs(to),
        }
    )
    return g.add({"@id": g.iri("call", call.id), "@type": "uco-observable:Call", "uco-core:hasFacet": [facet]})


def _media_file(g: Graph, media: Row[Any]) -> str:
    iri = g.iri("media_file", media.id)
    return g.add(
        {
            "@id": iri,
            "@type": "uco-observable:File",
            "uco-core:hasFacet": [
                _clean(
                    {
                        "@id": g.iri("media-file-facet", media.id),
                        "@type": "uco-observable:FileFacet",
                        "uco-observable:fileName": media.name,
                        "uco-observable:filePath": media.path,
                        "uco-observable:sizeInBytes": media.size,
                    }
                ),
                _clean(
                    {
                        "@id": g.iri("media-content-facet", media.id),
                        "@type": "uco-observable:ContentDataFacet",
                        "uco-observable:mimeType": media.mime,
                        "uco-observable:hash": _hashes(g, iri, {"sha256": media.sha256}),
                    }
                ),
            ],
        }
    )


def _account_record(g: Graph, account: Row[Any]) -> str:
    """An app account the phone holds (its accounts database, an app's own settings): the account it names
    and the record of it are two nodes, so the record keeps its provenance apart from the identifier."""
    facets = [
        {
            "@id": g.iri("account-record-facet", account.id),
            "@type": "uco-observable:AccountFacet",
            "uco-observable:accountIdentifier": account.identifier,
        }
    ]
    if account.display_name:
        facets.append(
            {
                "@id": g.iri("account-record-digital-facet", account.id),
                "@type": "uco-observable:DigitalAccountFacet",
                "uco-observable:displayName": account.display_name,
            }
        )
    return g.add(
        {
            "@id": g.iri(iri_kind("account"), account.id),
            "@type": "uco-observable:Account",
            "uco-core:description": f"{account.app} account held on the device",
            "uco-core:hasFacet": facets,
        }
    )


def iri_kind(record_type: str) -> str:
    """The IRI kind of a record node: an account record's is not "account", which names identifiers."""
    return "account-record" if record_type == "account" else record_type


# record type → (class, node builder), in the order both files list them
NODE_BUILDERS: dict[str, tuple[type[Base], Callable[[Graph, Row[Any]], str]]] = {
    "device": (Device, _device),
    "message": (Message, _message),
    "contact": (Contact, _contact),
    "location": (Location, _location),
    "call": (Call, _call),
    "media_file": (MediaFile, _media_file),
    "account": (Account, _account_record),
}
# the columns each node builder reads: the full record set is read with these only
NODE_COLUMNS: dict[str, tuple[str, ...]] = {
    "device": ("id", "model", "serial", "imei"),
    "message": ("id", "direction", "counterpart", "body", "time_utc"),
    "contact": ("id", "name", "phone_numbers"),
    "location": ("id", "latitude", "longitude", "altitude_m", "origin", "label"),
    "call": ("id", "app", "direction", "video", "time_utc", "duration_s", "counterpart"),
    "media_file": ("id", "name", "path", "size", "mime", "sha256"),
    "account": ("id", "app", "identifier", "display_name"),
}
