# The README's two commands are `make book` and `make test`; CI runs `make test` (.ci/run).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	touch $(STAMP)

## book: build the HTML book into _build/html (executes every chapter)
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

## test: every test, the notebooks included; "no tests collected" (exit 5) fails
test: $(STAMP)
	$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

## test-fast: the library tests without notebooks and slow tests
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not notebooks" tests

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_counting.py
	$(BIN)/python benchmarks/bench_accel.py

clean:
	rm -rf _build .pytest_cache
