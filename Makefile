# The two commands of the README. Both set the project up first (idempotent).
.PHONY: setup simulate test test-slow lint

setup:
	./scripts/setup

# The main job: the reference pair through a partition and its heal, node logs
# in the embedded SQLite store (verified afterwards), timeline as SVG.
simulate: setup
	mkdir -p runs
	rm -f runs/partition-heal.sqlite runs/partition-heal.sqlite-*
	.venv/bin/hacore simulate partition-heal --seed 1 \
		--log runs/partition-heal.sqlite --timeline runs/partition-heal.svg
	.venv/bin/hacore log verify runs/partition-heal.sqlite

PY_TREES = hacore adapters sims hacli hacontracts tests benchmarks scripts

lint: setup
	.venv/bin/ruff check $(PY_TREES)
	.venv/bin/ruff format --check $(PY_TREES)
	.venv/bin/mypy --strict hacore adapters sims hacli hacontracts
	.venv/bin/lint-imports
	MYPYPATH=tests .venv/bin/mypy --strict tests benchmarks scripts

# The default run: everything but the tests marked `slow` (long real-daemon
# campaigns and large fuzz runs); CI runs this one.
test: lint
	.venv/bin/python -m pytest -q -m "not slow"

# The long tests only, documented in the README; not part of CI's run.
test-slow: setup
	.venv/bin/python -m pytest -q -m slow
