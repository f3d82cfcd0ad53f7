"""Pulling events from a Directory Insights API (the vendor's, or another insightgraph's) into this graph."""
