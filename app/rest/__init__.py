"""The vendor-compatible REST entrypoint (starlette) under /insights/directory/v1."""
