"""The write use case shared by the CLI, GraphQL and REST: records in, parsed and enriched events out to graph/."""

from app.ingest.pipeline import IngestInterrupted, Pipeline, Summary

__all__ = ["IngestInterrupted", "Pipeline", "Summary"]
