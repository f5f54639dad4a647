# The two commands of the README. Both set the project up first (idempotent).
.PHONY: setup simulate test lint

setup:
	./scripts/setup

simulate: setup
	.venv/bin/hacore simulate partition-heal --seed 1

lint: setup
	.venv/bin/ruff check hacore adapters sims tests benchmarks
	.venv/bin/ruff format --check hacore adapters sims tests benchmarks
	.venv/bin/mypy --strict hacore adapters sims

test: lint
	.venv/bin/python -m pytest -q
