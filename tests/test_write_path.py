"""graph.write.write_batch called directly (as the GraphQL mutation and the pipeline do): events are CREATEd after a
duplicate check, so the batch's own repeats, events stored earlier, and a batch mixing both must each end as one
event with one set of links, and the return value must say which were new."""

from __future__ import annotations

import copy

from app.model.events import parse_event
from graph.write import write_batch
from tests.conftest import ingest, new_org, sample_events, snapshot


def _links(db, org: str) -> list[tuple[str, str, int]]:
    return [(r["id"], r["t"], r["n"]) for r in db.read(
        """MATCH (e:Event {organization: $org})-[r]->() RETURN e.id AS id, type(r) AS t, count(*) AS n
           ORDER BY id, t""", org=org)]


def test_repeats_inside_one_batch_are_stored_once(db) -> None:
    org, reference = new_org(), new_org()
    raw = sample_events(org)
    events = [parse_event(e) for e in raw + copy.deepcopy(raw)]  # every event twice in one call
    written = write_batch(db, events)
    assert written == {(org, e["id"]) for e in raw}
    assert db.read("MATCH (e:Event {organization: $org}) RETURN count(e) AS n", org=org) == [{"n": len(raw)}]
    ingest(db, sample_events(reference))
    assert snapshot(db, org) == snapshot(db, reference)  # the same graph as the plain pipeline writes
    assert all(n == 1 for _, _, n in _links(db, org))


def test_a_batch_mixing_stored_and_new_events_links_only_the_new(db) -> None:
    org = new_org()
    raw = sample_events(org)
    first, rest = raw[: len(raw) // 2], raw[len(raw) // 2:]
    assert write_batch(db, [parse_event(e) for e in first]) == {(org, e["id"]) for e in first}
    links_before = _links(db, org)
    again = write_batch(db, [parse_event(e) for e in copy.deepcopy(raw)])
    assert again == {(org, e["id"]) for e in rest}
    after = _links(db, org)
    assert [x for x in after if x[0] in {e["id"] for e in first}] == links_before  # stored events untouched
    assert all(n == 1 for _, _, n in after)
    assert write_batch(db, [parse_event(e) for e in copy.deepcopy(raw)]) == set()
