"""The parsed-document and validation caches (app/gql/offload.py) never change an answer: the same document is
refused when a variable makes it too expensive, even right after it validated cleanly with a small one."""

from __future__ import annotations

NESTED = ("query($n: Int!) { events(first: 100) { edges { node { initiatedBy { ... on User { "
          "events(first: $n) { edges { node { id } } } } } } } } }")


def _post(client, key: str, query: str, variables: dict) -> dict:
    return client.post("/graphql", json={"query": query, "variables": variables}, headers={"x-api-key": key}).json()


def test_a_cached_validation_is_per_integer_variables(client, key: str) -> None:
    for _ in range(3):  # cached after the first: still valid, still the same answer
        out = _post(client, key, NESTED, {"n": 2})
        assert "errors" not in out and out["data"] == {"events": {"edges": []}}, out
    refused = _post(client, key, NESTED, {"n": 10_000})
    assert refused["data"] is None and "budget" in refused["errors"][0]["message"], refused
    again = _post(client, key, NESTED, {"n": 10_000})  # refusals are not cached as clean either
    assert "budget" in again["errors"][0]["message"]
    assert "errors" not in _post(client, key, NESTED, {"n": 2})
    bad = _post(client, key, "{ events(first: 1) { edges { node { nosuchfield } } } }", {})
    assert "nosuchfield" in bad["errors"][0]["message"]
    assert "nosuchfield" in _post(client, key, "{ events(first: 1) { edges { node { nosuchfield } } } }",
                                  {})["errors"][0]["message"]
