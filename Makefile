# The two commands a newcomer needs: `make demo` and `make test`.
.PHONY: setup demo test lint docs clean

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/bilik demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports
	.venv/bin/python -m pytest -q -p no:cacheprovider

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports

docs: setup
	.venv/bin/python scripts/config_reference.py

clean:
	rm -rf .venv build *.egg-info .pytest_cache .mypy_cache .ruff_cache
