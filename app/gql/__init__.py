"""The GraphQL API: types, the EventFilter, resolvers (thin: they call `graph.search` and `graph.traversals`)."""
