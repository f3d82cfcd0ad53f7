"""Per-request context: the caller's principal (one organization), the database, and DataLoaders.

Resolvers are async and run every driver call in a worker thread (`Context.run`), so one slow query never stalls
the event loop; DataLoaders batch entity lookups so a page of 100 events costs one query per label, not 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader

from app.auth import Principal
from app.http_errors import HTTPError
from graph.db import Database
from app.model.results import EntityNode
from graph.lookup import load_entities

T = TypeVar("T")


class Forbidden(Exception):
    """A GraphQL error the caller may see (scope or organization), as opposed to a masked internal error."""


@dataclass
class Context:
    db: Database
    principal: Principal | None  # None only on a WebSocket until its connection_init authenticates
    services: Any  # app.server.Services: the ingest pipeline etc.
    connection_params: dict[str, Any] | None = None
    # EntityNode -> its GraphQL type (app.gql.entity_types.wrap), handed in by the schema's owner so that type
    # modules can resolve entities without importing the module that imports them.
    wrap: Callable[[EntityNode], Any] | None = None
    _loaders: dict[str, DataLoader] = field(default_factory=dict)
    # (label, id, graph function, arguments) -> the answer being fetched ahead (app/gql/prefetch.py)
    prefetched: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    @property
    def org(self) -> str:
        if self.principal is None:
            raise Forbidden("not authenticated")
        return self.principal.organization

    def require(self, scope: str) -> None:
        if self.principal is None:
            raise Forbidden("not authenticated")
        try:
            self.principal.require(scope)
        except HTTPError as exc:
            raise Forbidden(exc.message) from None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(fn, *args, **kwargs)

    def entities(self, label: str) -> DataLoader[str, EntityNode | None]:
        if label not in self._loaders:
            async def load(ids: list[str]) -> list[EntityNode | None]:
                found = await self.run(load_entities, self.db, self.org, label, list(dict.fromkeys(ids)))
                return [found.get(i) for i in ids]
            self._loaders[label] = DataLoader(load_fn=load)
        return self._loaders[label]

    async def entity(self, label: str, entity_id: str) -> Any:
        """The GraphQL object of an entity node (batched per label), or None when there is none."""
        assert self.wrap is not None
        node = await self.entities(label).load(entity_id)
        return self.wrap(node) if node is not None else None
