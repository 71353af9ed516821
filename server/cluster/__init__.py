"""Cluster mode (pgboard-server --redis URL): room leases, the room log of record in Redis, redirects."""
