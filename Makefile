# Two commands for a fresh machine: `make run` starts the whiteboard, `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test server cluster lint bench reliability fuzz soak clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/pgboard --host

server: $(VENV)/.installed
	$(BIN)/pgboard-server

# Redis (127.0.0.1:6390, AOF in .cluster/) and three servers sharing rooms (ports 5151-5153) until Ctrl+C
cluster: $(VENV)/.installed
	$(BIN)/python tools/cluster.py

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; exit 1; fi; exit $$rc

# the benchmark suite (docs/PERFORMANCE.md and docs/latency.png): under 10 minutes on 2 cores
$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[bench,test]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run

# the fuzz and fault suites (tests marked reliability) at CI's scale, writing docs/RELIABILITY.md
reliability: $(VENV)/.installed
	$(BIN)/python -m pytest -q -p no:cacheprovider -m reliability --reliability-report=docs/RELIABILITY.md

# the same suites with twenty times the cases (a few minutes), writing docs/RELIABILITY.md
fuzz: $(VENV)/.installed
	PGBOARD_FUZZ_SCALE=20 $(BIN)/python -m pytest -q -p no:cacheprovider -m reliability \
	  --timeout 1800 --reliability-report=docs/RELIABILITY.md

# 50 clients drawing at a realistic rate for 10 minutes; memory and threads must stay flat (not in CI)
soak: $(VENV)/.bench-installed
	$(BIN)/python -m bench.soak

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python tools/mypy_server.py --client

clean:
	rm -rf $(VENV) build *.egg-info
