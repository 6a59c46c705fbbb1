"""case.jsonld: the run in CASE 1.4 / UCO 1.4 (schemas.md §6), for exchange with other tools.

What is exported: the analytic tool and the examiner, the evidence files with their hashes, the device,
every message, contact and location, one investigative action for the run (start/end, instrument,
performer, objects and results) and one provenance record per finding naming the records it rests on.
Node identifiers are UUIDv5 derived from the evidence's SHA-256 and the record's type and id, so the same
evidence gives the same graph; every node (facets and hashes too) has an `@id`, as CASE requires.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from triage import TOOL_NAME, __version__
from triage.exclusive import write_text_exclusive
from triage.records import Contact, CustodyEvent, Device, EvidenceItem, Finding, Location, Message
from triage.store import CaseStore
from triage.timeutil import iso

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


class Graph:
    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.nodes: list[dict[str, Any]] = []

    def iri(self, kind: str, key: Any) -> str:
        return f"kb:{kind}-{uuid.uuid5(uuid.NAMESPACE_URL, f'mobile-triage/{self.seed}/{kind}/{key}')}"

    def add(self, node: dict[str, Any]) -> str:
        self.nodes.append(node)
        return node["@id"]


def dt(value: Any) -> dict[str, str] | None:
    text = iso(value)
    return None if text is None else {"@type": "xsd:dateTime", "@value": text}


def decimal(value: float) -> dict[str, str]:
    return {"@type": "xsd:decimal", "@value": repr(float(value))}


def _clean(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if v not in (None, [], "")}


def build_case(store: CaseStore, case: dict[str, str]) -> dict[str, Any]:
    items = list(store.all(EvidenceItem))
    seed = (items[0].media.get("sha256") if items else None) or case.get("exhibit") or "run"
    g = Graph(seed)
    tool = g.add({"@id": g.iri("tool", TOOL_NAME), "@type": "uco-tool:AnalyticTool", "uco-core:name": TOOL_NAME,
                  "uco-tool:version": __version__, "uco-tool:toolType": "Triage"})
    examiner = g.add({"@id": g.iri("examiner", case.get("examiner")), "@type": "uco-identity:Person",
                      "uco-core:name": case.get("examiner") or "unknown"})
    evidence = [_evidence_file(g, item) for item in items]
    device_ids = [_device(g, d) for d in store.all(Device)]
    accounts: dict[str, str] = {}
    messages = [_message(g, m, accounts) for m in store.all(Message)]
    contacts = [_contact(g, c, accounts) for c in store.all(Contact)]
    locations = [_location(g, loc) for loc in store.all(Location)]
    produced = device_ids + messages + contacts + locations
    records = {("message", m.id): i for m, i in zip(store.all(Message), messages)}
    records.update({("contact", c.id): i for c, i in zip(store.all(Contact), contacts)})
    records.update({("location", loc.id): i for loc, i in zip(store.all(Location), locations)})
    records.update({("device", d.id): i for d, i in zip(store.all(Device), device_ids)})
    input_record = g.add(_clean({"@id": g.iri("provenance-input", seed), "@type": "case-investigation:ProvenanceRecord",
                                 "case-investigation:exhibitNumber": case.get("exhibit") or None,
                                 "uco-core:description": "Evidence as received", "uco-core:object": _refs(evidence)}))
    output_record = g.add(_clean({"@id": g.iri("provenance-output", seed), "@type": "case-investigation:ProvenanceRecord",
                                  "case-investigation:exhibitNumber": case.get("exhibit") or None,
                                  "uco-core:description": "Records extracted by the triage run",
                                  "uco-core:object": _refs(produced)}))
    finding_records = [_finding_record(g, f, records, case) for f in store.all(Finding)]
    times = [e.time_utc for e in store.all(CustodyEvent)]
    action = g.add(_clean({
        "@id": g.iri("action", seed), "@type": "case-investigation:InvestigativeAction",
        "uco-core:name": "triaged", "uco-action:startTime": dt(min(times)) if times else None,
        "uco-action:endTime": dt(max(times)) if times else None, "uco-action:instrument": {"@id": tool},
        "uco-action:performer": {"@id": examiner}, "uco-action:object": _refs([input_record]),
        "uco-action:result": _refs([output_record, *finding_records])}))
    g.add(_clean({"@id": g.iri("investigation", case.get("case") or seed), "@type": "case-investigation:Investigation",
                  "uco-core:name": case.get("case") or "unnamed case", "uco-core:object": _refs([action])}))
    return {"@context": CONTEXT, "@graph": g.nodes}


def _refs(ids: list[str]) -> list[dict[str, str]]:
    return [{"@id": i} for i in ids]


def _hashes(g: Graph, owner: str, values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"@id": g.iri("hash", f"{owner}/{name}"), "@type": "uco-types:Hash",
             "uco-types:hashMethod": HASH_NAMES[name],
             "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value.upper()}}
            for name, value in sorted(values.items()) if name in HASH_NAMES and value]


def _evidence_file(g: Graph, item: EvidenceItem) -> str:
    iri = g.iri("evidence", item.id)
    media = item.media or {}
    return g.add({"@id": iri, "@type": ["uco-observable:File", "uco-observable:Image"], "uco-core:hasFacet": [
        _clean({"@id": g.iri("file-facet", item.id), "@type": "uco-observable:FileFacet",
                "uco-observable:fileName": Path(item.source).name, "uco-observable:filePath": item.source}),
        _clean({"@id": g.iri("content-facet", item.id), "@type": "uco-observable:ContentDataFacet",
                "uco-observable:sizeInBytes": media.get("size"),
                "uco-observable:hash": _hashes(g, iri, {k: media.get(k) for k in HASH_NAMES})}),
    ]})


def _device(g: Graph, device: Device) -> str:
    iri = g.iri("device", device.id)
    facets = [_clean({"@id": g.iri("device-facet", device.id), "@type": "uco-observable:DeviceFacet",
                      "uco-observable:model": device.model, "uco-observable:serialNumber": device.serial})]
    if device.imei:
        facets.append({"@id": g.iri("mobile-device-facet", device.id), "@type": "uco-observable:MobileDeviceFacet",
                       "uco-observable:IMEI": str(device.imei[0])})
    return g.add({"@id": iri, "@type": "uco-observable:MobileDevice", "uco-core:hasFacet": facets})


def _account(g: Graph, identifier: str | None, accounts: dict[str, str]) -> str | None:
    if not identifier:
        return None
    if identifier not in accounts:
        iri = g.iri("account", identifier)
        accounts[identifier] = g.add({"@id": iri, "@type": "uco-observable:Account", "uco-core:hasFacet": [
            {"@id": g.iri("account-facet", identifier), "@type": "uco-observable:AccountFacet",
             "uco-observable:accountIdentifier": identifier}]})
    return accounts[identifier]


def _message(g: Graph, message: Message, accounts: dict[str, str]) -> str:
    other = _account(g, message.counterpart, accounts)
    sender = other if message.direction == "incoming" else None
    to = [other] if message.direction != "incoming" and other else []
    facet = _clean({"@id": g.iri("message-facet", message.id), "@type": "uco-observable:MessageFacet",
                    "uco-observable:messageText": message.body, "uco-observable:sentTime": dt(message.time_utc),
                    "uco-observable:from": {"@id": sender} if sender else None, "uco-observable:to": _refs(to)})
    return g.add({"@id": g.iri("message", message.id), "@type": "uco-observable:Message",
                  "uco-core:hasFacet": [facet]})


def _contact(g: Graph, contact: Contact, accounts: dict[str, str]) -> str:
    phones = []
    for n, number in enumerate(contact.phone_numbers or []):
        phone_iri = g.iri("phone-account", number)
        if phone_iri not in accounts.values():
            accounts[f"phone:{number}"] = g.add({"@id": phone_iri, "@type": "uco-observable:PhoneAccount",
                                                 "uco-core:hasFacet": [{
                                                     "@id": g.iri("phone-account-facet", number),
                                                     "@type": "uco-observable:PhoneAccountFacet",
                                                     "uco-observable:phoneNumber": str(number)}]})
        phones.append({"@id": g.iri("contact-phone", f"{contact.id}/{n}"), "@type": "uco-observable:ContactPhone",
                       "uco-observable:contactPhoneNumber": {"@id": phone_iri}})
    facet = _clean({"@id": g.iri("contact-facet", contact.id), "@type": "uco-observable:ContactFacet",
                    "uco-observable:displayName": contact.name, "uco-observable:contactPhone": phones})
    return g.add({"@id": g.iri("contact", contact.id), "@type": "uco-observable:Contact", "uco-core:hasFacet": [facet]})


def _location(g: Graph, loc: Location) -> str:
    facet = {"@id": g.iri("latlong-facet", loc.id), "@type": "uco-location:LatLongCoordinatesFacet",
             "uco-location:latitude": decimal(loc.latitude), "uco-location:longitude": decimal(loc.longitude)}
    if loc.altitude_m is not None:
        facet["uco-location:altitude"] = decimal(loc.altitude_m)
    return g.add(_clean({"@id": g.iri("location", loc.id), "@type": "uco-location:Location",
                         "uco-core:description": f"{loc.origin}: {loc.label}" if loc.label else loc.origin,
                         "uco-core:hasFacet": [facet]}))


def _finding_record(g: Graph, finding: Finding, records: dict[tuple[str, int], str], case: dict[str, str]) -> str:
    objects = [records[(e.get("type"), e.get("id"))] for e in finding.evidence if (e.get("type"), e.get("id")) in records]
    return g.add(_clean({"@id": g.iri("finding", finding.id), "@type": "case-investigation:ProvenanceRecord",
                         "case-investigation:exhibitNumber": case.get("exhibit") or None,
                         "uco-core:name": f"{finding.rule_id} v{finding.rule_version} ({finding.severity})",
                         "uco-core:description": finding.explanation, "uco-core:object": _refs(objects)}))


def write_case(store: CaseStore, case: dict[str, str], path: Path) -> Path:
    write_text_exclusive(path, json.dumps(build_case(store, case), ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    return path
