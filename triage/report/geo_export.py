"""locations.geojson and locations.kml: every Location record as a point, with its origin, time and
provenance, for GIS tools and Google Earth (written with the standard library: both are small XML/JSON).

Labels come from the phone (a venue title, a file name) and may hold markup. Both files are written so
that no reader turns that text back into live markup (docs/report_safety.md):
- KML: Google Earth renders <description> (and the balloon that repeats <name>) as HTML. Each text is
  escaped for HTML first, then written by an XML serialiser (which escapes again for XML), never in
  CDATA: an XML parser gives back `&lt;script&gt;`, which an HTML renderer shows as text. Bidi and
  other control characters are shown as markers (⟦RLO⟧, ⟦NUL⟧): the map is for reading, and XML 1.0
  cannot carry most C0 controls at all.
- GeoJSON is data: the values are exactly those of records/location.jsonl, but `<`, `>`, `&` and the
  control characters are written as JSON \\u escapes, so the file holds no markup and nothing that
  reorders text when it is pasted into a page or opened in an editor.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from triage.exclusive import write_bytes_exclusive, write_text_exclusive
from triage.records import Location, SourceFile
from triage.report.display import BIDI_CONTROLS, visible_controls
from triage.store import CaseStore
from triage.timeutil import iso

KML_NS = "http://www.opengis.net/kml/2.2"
# In JSON text: characters written as \uXXXX (markup, bidi and other controls, separators JavaScript
# would not accept in a string literal).
_JSON_ESCAPED = re.compile("[<>&\u0080-\u009f\u2028\u2029" + "".join(BIDI_CONTROLS) + "]")


def _features(store: CaseStore) -> list[dict]:
    sources = {s.id: s for s in store.all(SourceFile)}
    features = []
    for loc in store.all(Location):
        source = sources.get(loc.source_file_id)
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [loc.longitude, loc.latitude]
                         + ([loc.altitude_m] if loc.altitude_m is not None else [])},
            "properties": {"id": loc.id, "origin": loc.origin, "label": loc.label, "time_utc": iso(loc.time_utc),
                           "accuracy_m": loc.accuracy_m, "provenance": source.provenance if source else None,
                           "sha256": source.sha256 if source else None},
        })
    return features


def geojson_text(features: list[dict]) -> str:
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1,
                      sort_keys=True)
    return _JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def kml_text(value: object) -> str:
    """Evidence text for a KML element that a KML reader may render as HTML: controls shown as markers,
    then escaped for HTML (the XML serialiser escapes once more)."""
    return html.escape(visible_controls(str(value)), quote=True)


def kml_document(features: list[dict]) -> bytes:
    ET.register_namespace("", KML_NS)
    kml = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(kml, f"{{{KML_NS}}}Document")
    ET.SubElement(doc, f"{{{KML_NS}}}name").text = "Locations"
    for f in features:
        p, coords = f["properties"], f["geometry"]["coordinates"]
        mark = ET.SubElement(doc, f"{{{KML_NS}}}Placemark")
        ET.SubElement(mark, f"{{{KML_NS}}}name").text = kml_text(p["label"] or p["origin"])
        ET.SubElement(mark, f"{{{KML_NS}}}description").text = kml_text(
            f"{p['origin']}; {p['provenance'] or 'no source file'}; SHA-256 {p['sha256'] or '-'}")
        if p["time_utc"]:
            stamp = ET.SubElement(mark, f"{{{KML_NS}}}TimeStamp")
            ET.SubElement(stamp, f"{{{KML_NS}}}when").text = p["time_utc"]
        point = ET.SubElement(mark, f"{{{KML_NS}}}Point")
        ET.SubElement(point, f"{{{KML_NS}}}coordinates").text = ",".join(str(c) for c in coords)
    return ET.tostring(kml, encoding="utf-8", xml_declaration=True) + b"\n"


def write_geo(store: CaseStore, out: Path) -> list[Path]:
    features = _features(store)
    geojson, kml = out / "locations.geojson", out / "locations.kml"
    write_text_exclusive(geojson, geojson_text(features))
    write_bytes_exclusive(kml, kml_document(features))
    return [geojson, kml]
