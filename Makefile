# The README's two commands: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run site docs messages test lint typecheck unit browser-deps screenshots bench load fuzz clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "befriend needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# `befriend serve` builds the site itself, into a temporary folder, before serving it.
run: $(STAMP)
	$(BIN)/befriend serve

# Rebuild the committed site/ after changing templates/site/ or the playbook.
site: $(STAMP)
	$(BIN)/befriend build-site

# Extract the messages of templates, sources and scripts (handlers/befriend/locales/*.pot),
# merge them into each language's catalog (.po, what translators edit) and compile those
# (.mo, shipped in the package); then name every message still untranslated (exit 1).
# `make messages ONLY=de` does one language. Tests fail while a catalog is stale.
messages: $(STAMP)
	$(BIN)/python -m befriend.build.catalogs $(ONLY)

# Regenerate docs/api.md from the OpenAPI document (a test fails when it is stale).
docs: $(STAMP)
	$(BIN)/python -m befriend.web.openapi.markdown > docs/api.md

lint: $(STAMP)
	$(BIN)/ruff check handlers tests bench
	$(BIN)/ruff format --check handlers tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# tests/browser/ drives Debian's Chromium (not Playwright's download); installed here if root.
browser-deps:
	.ci/ensure-chromium

unit: $(STAMP) browser-deps
	$(BIN)/pytest -n auto

test: lint typecheck unit

# Retake the README's screenshots (docs/screenshots/) in Debian's Chromium.
screenshots: $(STAMP) browser-deps
	BEFRIEND_README_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser/test_readme_screenshots.py

# Every benchmark in bench/ (cold start, cost per action, warm overhead, engine, report
# scaling, sweep reads, import throughput, site build and package size, sign-up and link
# timing by address class); each rewrites its section of docs/benchmarks.md, and the last
# writes docs/scale.md from their figures.
bench: $(STAMP)
	$(BIN)/python bench/all.py

# Event batches, then 50+ virtual visitors for a minute, against `befriend serve` as `make run`
# starts it; proves nothing was lost or counted twice, that memory stays flat and that SIGTERM
# stops it at once; figures into docs/benchmarks.md.
load: $(STAMP)
	$(BIN)/python bench/load.py

# schemathesis against the OpenAPI document with many more examples than `make test` runs.
fuzz: $(STAMP)
	BEFRIEND_FUZZ_EXAMPLES=1000 $(BIN)/pytest -p no:xdist tests/fuzz

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
