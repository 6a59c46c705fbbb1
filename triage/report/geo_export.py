"""locations.geojson and locations.kml: every Location record as a point, with its origin, time and
provenance, for GIS tools and Google Earth (written with the standard library). Both are written position
by position as the store is read: the bytes are those of one json.dumps / ElementTree call over the whole
collection, but only one position is in memory at a time.

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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from triage.integrity.exclusive import create_exclusive
from triage.model.records import Location
from triage.model.timeutil import iso
from triage.report.display import BIDI_CONTROLS, visible_controls
from triage.report.store_rows import SOURCE_PATH, SOURCE_SHA256, records
from triage.store import CaseStore

KML_NS = "http://www.opengis.net/kml/2.2"
# In JSON text: characters written as \uXXXX (markup, bidi and other controls, separators JavaScript
# would not accept in a string literal).
_JSON_ESCAPED = re.compile("[<>&\u0080-\u009f\u2028\u2029" + "".join(BIDI_CONTROLS) + "]")


def features(store: CaseStore) -> Iterator[dict[str, Any]]:
    """Every Location as a GeoJSON feature, in id order, read from the store page by page."""
    for loc in records(store, Location, with_source=True):
        values = loc._mapping
        yield {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [loc.longitude, loc.latitude] + ([loc.altitude_m] if loc.altitude_m is not None else []),
            },
            "properties": {
                "id": loc.id,
                "origin": loc.origin,
                "label": loc.label,
                "time_utc": iso(loc.time_utc),
                "accuracy_m": loc.accuracy_m,
                "provenance": values[SOURCE_PATH],
                "sha256": values[SOURCE_SHA256],
            },
        }


def _json_safe(text: str) -> str:
    return _JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def geojson_chunks(features: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The FeatureCollection as `json.dumps(…, indent=1, sort_keys=True)` would write it, one feature at a
    time: the collection's own keys ("features" < "type") around features indented two levels."""
    yield '{\n "features": ['
    separator = "\n"
    for feature in features:
        text = json.dumps(feature, ensure_ascii=False, indent=1, sort_keys=True)
        # split at "\n" only: JSON escapes a newline inside a string, but keeps U+2028 and the like raw
        yield _json_safe(separator + "\n".join("  " + line for line in text.split("\n")))
        separator = ",\n"
    yield ("\n ]" if separator == ",\n" else "]") + ',\n "type": "FeatureCollection"\n}\n'


def geojson_text(features: Iterable[dict[str, Any]]) -> str:
    return "".join(geojson_chunks(features))


def kml_text(value: object) -> str:
    """Evidence text for a KML element that a KML reader may render as HTML: controls shown as markers,
    then escaped for HTML (the XML serialiser escapes once more)."""
    return html.escape(visible_controls(str(value)), quote=True)


def placemark(f: dict[str, Any]) -> ET.Element:
    """One position as a KML Placemark (no namespace of its own: it sits in the document's default one)."""
    p, coords = f["properties"], f["geometry"]["coordinates"]
    mark = ET.Element("Placemark")
    ET.SubElement(mark, "name").text = kml_text(p["label"] or p["origin"])
    ET.SubElement(mark, "description").text = kml_text(
        f"{p['origin']}; {p['provenance'] or 'no source file'}; SHA-256 {p['sha256'] or '-'}"
    )
    if p["time_utc"]:
        stamp = ET.SubElement(mark, "TimeStamp")
        ET.SubElement(stamp, "when").text = p["time_utc"]
    point = ET.SubElement(mark, "Point")
    ET.SubElement(point, "coordinates").text = ",".join(str(c) for c in coords)
    return mark


def kml_chunks(features: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """The KML document, Placemark by Placemark, as ElementTree writes the whole tree in UTF-8."""
    yield (f"<?xml version='1.0' encoding='utf-8'?>\n<kml xmlns=\"{KML_NS}\"><Document><name>Locations</name>".encode())
    for f in features:
        # what ElementTree does for a character UTF-8 cannot carry (a lone surrogate): a character reference
        yield ET.tostring(placemark(f), encoding="unicode").encode("utf-8", "xmlcharrefreplace")
    yield b"</Document></kml>\n"


def kml_document(features: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(kml_chunks(features))


def write_geo(store: CaseStore, out: Path) -> list[Path]:
    geojson, kml = out / "locations.geojson", out / "locations.kml"
    with create_exclusive(geojson, "w", encoding="utf-8", newline="") as f:
        f.writelines(geojson_chunks(features(store)))
    with create_exclusive(kml, "wb") as f:
        f.writelines(kml_chunks(features(store)))
    return [geojson, kml]
