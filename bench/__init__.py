"""pgboard's benchmark suite: ``python -m bench.run`` (``make bench``) writes docs/PERFORMANCE.md."""
