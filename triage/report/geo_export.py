"""locations.geojson and locations.kml: every Location record as a point, with its origin, time and
provenance, for GIS tools and Google Earth (written with the standard library: both are small XML/JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

from triage.records import Location, SourceFile
from triage.store import CaseStore
from triage.timeutil import iso


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


def write_geo(store: CaseStore, out: Path) -> list[Path]:
    features = _features(store)
    geojson = out / "locations.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                                  indent=1, sort_keys=True) + "\n", encoding="utf-8")
    placemarks = []
    for f in features:
        p, coords = f["properties"], f["geometry"]["coordinates"]
        when = f"<TimeStamp><when>{p['time_utc']}</when></TimeStamp>" if p["time_utc"] else ""
        description = escape(f"{p['origin']}; {p['provenance'] or 'no source file'}; SHA-256 {p['sha256'] or '-'}")
        placemarks.append(
            f"<Placemark><name>{escape(str(p['label'] or p['origin']))}</name><description>{description}</description>"
            f"{when}<Point><coordinates>{coords[0]},{coords[1]}{',' + str(coords[2]) if len(coords) > 2 else ''}"
            f"</coordinates></Point></Placemark>")
    kml = out / "locations.kml"
    kml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                   "<name>Locations</name>" + "".join(placemarks) + "</Document></kml>\n", encoding="utf-8")
    return [geojson, kml]
