"""Event search for every entrypoint (GraphQL `events`, REST `/events*`): a page, a count, distinct values and
time buckets, each one parameterised Cypher statement over one organization's events.

Paging is keyset on (ts, id) — the same order for REST `search_after` and GraphQL cursors — so a page costs the
same wherever it is in the result and ties on a timestamp are never skipped or repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection

from app.model.events import EventHeadline
from app.model.fields import Field, lookup
from app.model.filters import Node
from app.model.times import bucket_span
from graph.db import Database
from graph.compile_filter import compile_filter



@dataclass(frozen=True)
class StoredEvent:
    ts: int
    id: str
    raw: str | None  # the event as stored: its original JSON (plus enrichment), never reshaped; None when only
    headline: EventHeadline | None = None  # the headline was read (`find_events(..., headline=True)`)

    @property
    def cursor(self) -> tuple[int, str]:
        return (self.ts, self.id)


# Every event has a ts; saying so lets the planner seek the (organization, ts) index for an organization's events
# instead of scanning every organization's (a composite index needs a predicate on each of its properties).
# A range true of every ts rather than `e.ts IS NOT NULL`: the index seek answers it whole, where IS NOT NULL beside
# a time filter was re-checked row by row, reading every scanned event's `raw` first (bench/README.md).
TS_MIN = -(2**63)
IN_ORG = "e.organization = $org AND e.ts >= $ts_min"


def _where(organization: str, where: Node) -> tuple[str, dict[str, Any]]:
    cond, params = compile_filter(where, "e", "f")
    params["org"] = organization
    params["ts_min"] = TS_MIN
    return cond, params


# The node properties an EventHeadline is read from (the field registry's search keys).
_HEADLINE = ("e.organization, e.event_type, e.service, e.`{success}`, e.`{mfa}`, e.`{client_ip}`"
             .format(success=lookup("success").prop, mfa=lookup("mfa").prop, client_ip=lookup("client_ip").prop))


def _page_query(cond: str, descending: bool, after: bool, skip: bool, columns: str = "e.raw") -> str:
    # ORDER BY leads with e.organization so the planner reads the (organization, ts) index in order and stops
    # after `limit` rows (PartialTop) instead of sorting every matching event; the keyset bound is a plain range
    # on ts (index seek) plus the tie-break on id. The page comes back as one row holding a list, in page order:
    # the Python driver decodes one list for a fraction of what as many records cost (bench/README.md).
    op, order = ("<", "DESC") if descending else (">", "ASC")
    keyset = (f"AND e.ts {op}= $after_ts AND (e.ts {op} $after_ts OR e.id {op} $after_id)" if after
              else "AND e.ts >= $ts_min")
    return (
        f"MATCH (e:Event) WHERE e.organization = $org {keyset} AND {cond} "
        f"WITH e ORDER BY e.organization {order}, e.ts {order}, e.id {order} "
        + ("SKIP $skip " if skip else "")
        + f"LIMIT $limit RETURN collect([e.ts, e.id, {columns}]) AS page"
    )


def find_events(db: Database, organization: str, where: Node, *, limit: int, descending: bool = False,
                after: tuple[int, str] | None = None, skip: int = 0, headline: bool = False) -> list[StoredEvent]:
    """One page of events in (ts, id) order, strictly after the cursor `after` (in the page's direction); with
    `headline`, each event's EventHeadline instead of its stored JSON."""
    cond, params = _where(organization, where)
    params.update(limit=limit, skip=skip)
    if after is not None:
        params.update(after_ts=after[0], after_id=after[1])
    query = _page_query(cond, descending, after is not None, skip > 0, _HEADLINE if headline else "e.raw")
    page = db.read(query, **params)[0]["page"]
    if headline:
        return [StoredEvent(row[0], row[1], None, EventHeadline(*row[2:])) for row in page]
    return [StoredEvent(ts, eid, raw) for ts, eid, raw in page]


def find_event_keys(db: Database, organization: str, where: Node, *, limit: int, descending: bool = False,
                    after: tuple[int, str] | None = None, skip: int = 0) -> list[tuple[int, str, str]]:
    """The (ts, id, element id) keys of the page `find_events` would return, without the events: the REST layer
    needs a page's size and last cursor for its response headers before it streams the (large) events themselves,
    and loads them by element id (`load_raw`)."""
    cond, params = _where(organization, where)
    params.update(limit=limit, skip=skip)
    if after is not None:
        params.update(after_ts=after[0], after_id=after[1])
    query = _page_query(cond, descending, after is not None, skip > 0, "elementId(e)")
    return [(int(ts), eid, node) for ts, eid, node in db.read(query, **params)[0]["page"]]


def load_raw(db: Database, organization: str, keys: list[tuple[int, str, str]]) -> dict[str, str]:
    """{id: stored JSON} for keys from `find_event_keys` (events not found are left out). Each node is fetched by
    its element id — a direct record read, where a seek of the (organization, id) index per event cost ~25 µs at
    1M events (bench/README.md) — and is checked to still be that event of that organization, so an id freed and
    reused in between cannot serve another event."""
    rows = db.read(  # one row holding a list: cheaper for the driver to decode than a record per event
        # Only the element id in the WHERE, so the planner seeks by it (with the properties there too it prefers
        # the (organization, id) index); which event it is, is checked here.
        "UNWIND $ids AS i MATCH (e) WHERE elementId(e) = i "
        "RETURN collect([e.organization, e.id, e.raw, e:Event]) AS found",
        ids=[node for _, _, node in keys],
    )
    wanted = {eid for _, eid, _ in keys}
    return {eid: raw for org, eid, raw, is_event in rows[0]["found"]
            if is_event and org == organization and eid in wanted}


def count_events(db: Database, organization: str, where: Node) -> int:
    cond, params = _where(organization, where)
    rows = db.read(f"MATCH (e:Event) WHERE {IN_ORG} AND {cond} RETURN count(e) AS n", **params)
    return int(rows[0]["n"])


def distinct_values(db: Database, organization: str, where: Node, field: Field,
                    limit: int | None = None) -> tuple[list[tuple[Any, int]], int]:
    """([(value, events)], events with the field beyond the returned buckets), most frequent first.

    Values are the field's search keys (lower-cased text, exact ids), the same values a filter matches on.
    """
    cond, params = _where(organization, where)
    prop = f"e.`{field.prop}`"  # a registry identifier, never user input
    value = f"UNWIND {prop} AS v" if field.multi else f"WITH e, {prop} AS v"
    rows = db.read(
        f"MATCH (e:Event) WHERE {IN_ORG} AND {cond} AND {prop} IS NOT NULL "
        f"{value} WITH DISTINCT e, v WITH v, count(*) AS n RETURN v, n ORDER BY n DESC, v", **params
    )
    buckets = [(r["v"], int(r["n"])) for r in rows]
    if limit is None:
        return buckets, 0
    return buckets[:limit], sum(n for _, n in buckets[limit:])


def histogram(db: Database, organization: str, where: Node, *, width_ms: int, origin_ms: int) -> list[tuple[int, int]]:
    """[(bucket start ms, events)] for fixed-width buckets aligned to `origin_ms`; empty buckets are omitted."""
    cond, params = _where(organization, where)
    params.update(width=width_ms, origin=origin_ms)
    rows = db.read(
        f"MATCH (e:Event) WHERE {IN_ORG} AND {cond} "
        "WITH $origin + toInteger(floor(toFloat(e.ts - $origin) / $width)) * $width AS bucket "
        "RETURN bucket, count(*) AS n ORDER BY bucket", **params
    )
    return [(int(r["bucket"]), int(r["n"])) for r in rows]


def event_histogram(db: Database, organization: str, where: Node, width_ms: int,
                    origin_ms: int) -> list[tuple[int, int]]:
    """Every bucket start from the first to the last matching event with its count (empty buckets included), for
    both APIs; a ValueError past MAX_BUCKETS."""
    bounds = time_bounds(db, organization, where)
    if bounds is None:
        return []
    lo, hi = bucket_span(bounds, width_ms, origin_ms)
    counts = dict(histogram(db, organization, where, width_ms=width_ms, origin_ms=origin_ms))
    return [(start, counts.get(start, 0)) for start in range(lo, hi + 1, width_ms)]


def time_bounds(db: Database, organization: str, where: Node) -> tuple[int, int] | None:
    """(earliest, latest) ts among matching events, or None: lets callers size a histogram before running it.

    The first and the last matching event in (organization, ts) index order (each stops at its first match), not
    min/max over every match (bench/README.md has the numbers). With no match the first subquery yields no row and
    the second never runs."""
    cond, params = _where(organization, where)
    rows = db.read(
        f"CALL () {{ MATCH (e:Event) WHERE {IN_ORG} AND {cond} "
        "RETURN e.ts AS lo ORDER BY e.organization, e.ts LIMIT 1 } "
        f"CALL () {{ MATCH (e:Event) WHERE {IN_ORG} AND {cond} "
        "RETURN e.ts AS hi ORDER BY e.organization DESC, e.ts DESC LIMIT 1 } "
        "RETURN lo, hi", **params)
    if not rows or rows[0]["lo"] is None:
        return None
    return int(rows[0]["lo"]), int(rows[0]["hi"])


def events_since(db: Database, organization: str, where: Node, since: tuple[int, str],
                 limit: int = 1000, exclude: Collection[str] = ()) -> list[tuple[int, StoredEvent]]:
    """[(ingested ms, event)] after the (ingested, id) cursor `since` (ingested is the database clock when the
    event was written), matching `where`, but for the ids in `exclude`: what live subscriptions poll, so events
    reach them whichever process ingested them. A poll re-reads a few seconds of events each time: excluding the
    ids it already has spares reading their stored JSON again (thousands a poll while an ingest runs). One range
    seek of the (organization, ingested) index: without the hint an idle poll of an organization of 30,000 events
    took 36 ms instead of 4, growing with the organization."""
    cond, params = _where(organization, where)
    params.update(since=since[0], since_id=since[1], limit=limit, exclude=list(exclude))
    rows = db.read(  # the hint: the planner splits the OR into a union, one half seeking every id of the org
        f"MATCH (e:Event) USING INDEX e:Event(organization, ingested) WHERE e.organization = $org "
        f"AND e.ingested >= $since AND (e.ingested > $since OR e.id > $since_id) AND NOT e.id IN $exclude AND {cond} "
        "RETURN e.ingested AS ingested, e.ts AS ts, e.id AS id, e.raw AS raw ORDER BY e.ingested, e.id LIMIT $limit",
        **params,
    )
    return [(int(r["ingested"]), StoredEvent(r["ts"], r["id"], r["raw"])) for r in rows]


def ingested_at(db: Database, organization: str, event_id: str) -> int | None:
    """When this organization's event was stored (the database clock, as `events_since` orders by), or None when
    it holds no such event: where a resumed live subscription starts again."""
    rows = db.read("MATCH (e:Event {organization: $org, id: $id}) RETURN e.ingested AS ingested",
                   org=organization, id=event_id)
    return int(rows[0]["ingested"]) if rows and rows[0]["ingested"] is not None else None


def has_events(db: Database, organization: str) -> bool:
    return bool(db.read("MATCH (e:Event {organization: $org}) RETURN e.id LIMIT 1", org=organization))


def db_clock(db: Database) -> int:
    return int(db.read("RETURN timestamp() AS now")[0]["now"])
