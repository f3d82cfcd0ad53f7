"""The graph layer's public surface: what the entrypoints call. Only this package writes Cypher or imports the driver;
its modules are split by concept (access, activity, investigations, lookup, search, write, keys, retention), and
callers import from here, so moving a function between them never touches a caller."""

from graph.access import (access_as_of, access_diff, access_path, groups_as_of, members_as_of, neighbours,
                          who_can_access)
from graph.activity import access_history, admin_changes, lifecycle, who_accessed
from graph.constraints import ensure_schema
from graph.db import UNAVAILABLE, Database, DatabaseUnavailable
from graph.reports import audit_report
from graph.investigations import access_after_revocation, failed_login_bursts, new_country_logins
from graph.principals import holder_of, status_as_of, status_history, unresolved_identities
from graph.lookup import find_by_id, find_entities, find_entity, get_entity, has_ip, load_entities, with_entity

__all__ = [
    "UNAVAILABLE", "Database", "DatabaseUnavailable", "access_after_revocation", "access_as_of", "access_diff",
    "access_history", "access_path", "admin_changes", "audit_report", "ensure_schema", "failed_login_bursts",
    "find_by_id", "find_entities", "find_entity", "get_entity", "groups_as_of", "has_ip", "holder_of", "lifecycle",
    "load_entities", "members_as_of", "neighbours", "new_country_logins", "status_as_of", "status_history",
    "unresolved_identities", "who_accessed", "who_can_access", "with_entity",
]
