"""The pure domain model: events, the field registry, the filter tree, intervals, entities, audit kinds, read-model
results, times and input errors. It does no I/O and imports nothing from graph/, the driver or any web framework, so
every rule here is unit-testable without Neo4j."""
