# The README's two commands are `make book` and `make test`; CI runs `make test` (.ci/run).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# SCALE-Sim v2, the reference for cnnlib.accel's systolic model, in an environment of its own
# (it pins its own numpy and pandas); only the slow reference test runs it, never cnnlib.
SCALESIM_VENV := .venv-scalesim
SCALESIM      := $(SCALESIM_VENV)/.installed
# axe-core, the accessibility checker the browser test runs in Chromium (tests/test_browser.py),
# from the npm registry into the venv; the test loads it from there, never from a network.
AXE_VERSION := 4.14.1
AXE_DIR     := $(VENV)/npm

.PHONY: book test test-fast lint bench clean system-deps hub

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[book,test,labs,autograder,hub]'
	touch $(STAMP)

$(SCALESIM):
	test -x $(SCALESIM_VENV)/bin/python || $(PYTHON) -m venv $(SCALESIM_VENV)
	$(SCALESIM_VENV)/bin/python -m pip install --quiet scalesim==2.0.2
	touch $(SCALESIM)

## book: build the HTML book into _build/html (executes every chapter)
book: $(STAMP)
	cd labs && PATH=$(CURDIR)/$(BIN):$$PATH nbgrader generate_assignment 'lab*' --no-db --force --log-level=WARN
	$(BIN)/jupyter-book build . -W -n --keep-going

## system-deps: Debian packages the tests use (a real browser for the book and the hub, the
## autograder's sandbox, npm), and axe-core from npm. Installed only when missing; without root,
## apt or npm the tests that need them skip and say so.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	    || echo "could not install$$missing: the tests that need them will skip" >&2; \
	fi
	@if [ "$$(cat $(AXE_DIR)/axe-core.version 2>/dev/null)" != "$(AXE_VERSION)" ]; then \
	  echo "installing axe-core $(AXE_VERSION) from npm into $(AXE_DIR)"; \
	  if npm install --prefix $(AXE_DIR) --save-exact --no-audit --no-fund --loglevel=error \
	       axe-core@$(AXE_VERSION) >/dev/null; then \
	    echo $(AXE_VERSION) > $(AXE_DIR)/axe-core.version; \
	  else echo "could not install axe-core from npm: the accessibility test will skip" >&2; fi; \
	fi

## test: the linters, then every test, the notebooks included; "no tests collected" (exit 5) fails
test: lint $(SCALESIM) system-deps
	SCALESIM_PYTHON=$(CURDIR)/$(SCALESIM_VENV)/bin/python $(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

## test-fast: the library tests without notebooks and slow tests
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not notebooks" tests

## hub: the whole course on one machine, as root (one OS account per user): a real JupyterHub on
## http://127.0.0.1:8000 (deploy/README.md)
hub: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python deploy/local_hub.py

## lint: ruff on the repository, mypy on cnnlib and autograder (settings in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_counting.py
	$(BIN)/python benchmarks/bench_accel.py
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/bench_autograder.py
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/bench_instructor.py

clean:
	rm -rf _build .pytest_cache
