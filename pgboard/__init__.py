"""pgboard: a collaborative whiteboard (pygame-ce client, threaded server)."""
