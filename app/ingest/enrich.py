"""Best-effort enrichment of Directory Insights events (GeoIP, parsed user agent).

Enrichment only ever *adds* what an event lacks: an existing ``geoip`` or a
structured ``useragent``/``user_agent`` from JumpCloud is the source of truth and
is never overwritten, and no field is ever dropped. Everything here is optional
— a missing GeoIP database or an unparseable value means "no enrichment", never
an ingest failure.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import geoip2.database
import geoip2.errors
import geoip2.models
import maxminddb
import user_agents

from app.model.bounds import MAX_UA_CHARS

log = logging.getLogger("insightgraph.enrich")

# Bounded because client IPs / UA strings are attacker-influenced: an unbounded
# cache would be a memory leak. 64k distinct values covers real orgs comfortably.
CACHE_SIZE = 65536

# Both spellings occur in real events (contract: "some services and older
# events spell it user_agent"); each is enriched under its own key.
UA_KEYS = ("useragent", "user_agent")

GeoIP = dict[str, Any]


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_user_agent(raw: str) -> dict[str, str]:
    """Parse a raw UA string into JumpCloud's ``useragent`` shape, plus ``raw``.

    Cached at module level (a pure function of the string): ``user_agents.parse``
    costs ~0.2-1 ms, while a handful of distinct UAs make up most traffic.
    ``raw`` keeps the original string so the conversion is lossless (the parser
    drops e.g. build numbers and OS patch levels). Callers must copy the result.
    """
    ua = user_agents.parse(raw[:MAX_UA_CHARS])  # the parser's regexes cost more than linear time on long input
    b_major, b_minor, b_patch = _version_parts(ua.browser.version_string)
    o_major, o_minor, _ = _version_parts(ua.os.version_string)
    return {
        "name": ua.browser.family,
        "major": b_major,
        "minor": b_minor,
        "patch": b_patch,
        "os": ua.os.family,
        "os_name": ua.os.family,
        "os_major": o_major,
        "os_minor": o_minor,
        "device": ua.device.family,
        "raw": raw,
    }


def _version_parts(version: str) -> tuple[str, str, str]:
    """'120.0.6099' -> ('120', '0', '6099'); missing parts are '' like JumpCloud's."""
    parts = version.split(".") if version else []
    parts += [""] * 3
    return parts[0], parts[1], parts[2]


class Enricher:
    """Adds what an event lacks, never overwriting what it has.

    Use from one thread at a time (the caches themselves are thread-safe).
    """

    def __init__(self, geoip_db: str | os.PathLike[str] | None) -> None:
        """Open the GeoIP2 City/Country database, or turn GeoIP off with one log line.

        GeoIP is optional, so a missing/unusable database is logged once here
        (not per event, which at 15k events/s would flood the log) and skipped.
        """
        self._reader: geoip2.database.Reader | None = None
        self._city = False
        self._lookup_geoip = functools.lru_cache(maxsize=CACHE_SIZE)(self._geoip_uncached)

        if geoip_db is None:
            log.info("GeoIP enrichment is off: no GeoIP database configured")
            return
        path = os.fspath(geoip_db)
        if not os.path.isfile(path):
            log.warning("GeoIP enrichment is off: database %s does not exist", path)
            return
        try:
            reader = geoip2.database.Reader(path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            log.warning("GeoIP enrichment is off: cannot open %s: %s", path, exc)
            return
        db_type = reader.metadata().database_type
        if "City" in db_type:
            self._city = True
        elif "Country" not in db_type:
            reader.close()
            log.warning(
                "GeoIP enrichment is off: %s is a %r database, need City or Country",
                path,
                db_type,
            )
            return
        self._reader = reader
        log.info("GeoIP enrichment on: %s (%s)", path, db_type)

    def enrich(self, event: dict[str, Any]) -> dict[str, Any]:
        """Add ``geoip`` and structure a raw UA string; mutates and returns ``event``."""
        if self._reader is not None and "geoip" not in event:
            ip = event.get("client_ip")
            if isinstance(ip, str) and ip:
                geo = self._lookup_geoip(ip)
                if geo is not None:
                    event["geoip"] = dict(geo)  # copy: the cached dict is shared
        for key in UA_KEYS:
            raw = event.get(key)
            # Only raw strings are replaced; an object is JumpCloud's own parse.
            # Blank strings carry nothing to parse and are left as they are.
            if isinstance(raw, str) and raw.strip():
                event[key] = dict(parse_user_agent(raw))
        return event

    def close(self) -> None:
        """Release the database; later ``enrich`` calls simply skip GeoIP."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._lookup_geoip.cache_clear()

    def __enter__(self) -> Enricher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _geoip_uncached(self, ip: str) -> GeoIP | None:
        """Look ``ip`` up; None for private/unknown/invalid IPs (cached too — they repeat)."""
        reader = self._reader
        if reader is None:
            return None
        try:
            model = reader.city(ip) if self._city else reader.country(ip)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            # ValueError: not an IP, or IPv6 against an IPv4-only database.
            return None
        geo: GeoIP = {
            "country_code": model.country.iso_code,
            "continent_code": model.continent.code,
        }
        if isinstance(model, geoip2.models.City):
            sub = model.subdivisions.most_specific
            geo.update(
                region_code=sub.iso_code,
                region_name=sub.name,
                timezone=model.location.time_zone,
                latitude=model.location.latitude,
                longitude=model.location.longitude,
            )
        # Only what the database knows: no null placeholders.
        geo = {k: v for k, v in geo.items() if v is not None}
        return geo or None
