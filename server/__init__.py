"""The pgboard board server: threads, rooms, sessions, chat and the SQLite store (no pygame)."""
