"""The example queries GraphiQL opens with: they work on `insightgraph demo` data (default seed)."""

from __future__ import annotations

import json

EXAMPLES: list[dict[str, str]] = [
    {
        "query": """# Put your API key in the Headers tab: {"x-api-key": "ig_..."} (insightgraph keys create --org ORG)
# Recent user creations, with who created them and from where
query NewUsers {
  events(filter: {eventTypes: ["user_create"]}, first: 10) {
    totalCount
    nodes { timestamp clientIp geo { countryCode } initiatedBy { name } target { name } }
  }
}
""",
    },
    {
        "query": """# A user's whole story, in order (demo data, seed 1: nkim)
query Lifecycle {
  user(username: "nkim") {
    username
    lifecycle { timestamp kind eventType initiator { name } clientIp country counterpart { type name }
                changes { field to } }
  }
}
""",
    },
    {
        "query": """# What could this user reach at that instant, and through which grants?
query AccessAsOf($at: DateTime) {
  user(username: "nkim") {
    access(asOf: $at) {
      resource { type name }
      paths { kind hops { source { name } relationship target { name } since
                          grantedBy { timestamp initiator { name } clientIp } } }
    }
  }
}
""",
        "variables": json.dumps({"at": None}),
    },
    {
        "query": """# Why can this user reach that resource? Pass a resource id from the AccessAsOf tab.
query WhyAccess($to: ID!) {
  user(username: "nkim") {
    accessPath(to: $to) { kind since hops { source { name } relationship target { name }
                                           grantedBy { id timestamp initiator { name } clientIp } } }
    accessHistory { resource { name } firstSeen lastSeen successes failures mfaShare countries }
  }
}
""",
        "variables": json.dumps({"to": "paste-a-resource-id"}),
    },
]


def inject(html: str) -> str:
    """Strawberry's GraphiQL page, opened on our examples as tabs instead of its welcome text."""
    marker = "React.createElement(GraphiQL, {"
    if marker not in html:
        return html
    tabs = json.dumps(EXAMPLES)
    return html.replace(marker, f"{marker}\n          defaultTabs: {tabs},", 1).replace(
        "parameters.q || EXAMPLE_QUERY", f"parameters.q || {json.dumps(EXAMPLES[0]['query'])}", 1)
