"""schema.graphql is the published contract: it must be exactly what the code serves."""

from app.gql.export import SDL_PATH, sdl


def test_checked_in_sdl_matches_the_code():
    assert SDL_PATH.exists(), "run `python -m app.gql.export` and commit schema.graphql"
    assert SDL_PATH.read_text() == sdl(), "schema.graphql is stale: run `python -m app.gql.export` and commit it"


def test_sdl_has_the_public_contract():
    text = sdl()
    for name in ("events(", "eventCount(", "eventHistogram(", "eventDistinct(", "ingestEvents(", "eventAdded(",
                 "input EventFilter", "type EventConnection", "type PageInfo"):
        assert name in text
