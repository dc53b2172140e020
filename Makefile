# Two entry points for a fresh machine (see README):
#   make demo   create .venv if missing, install, run `embedlayer demo`
#   make test   create .venv if missing, install, run the linters and the whole test suite
# and two for the working loop: `make test-fast` (tests without the slow, browser and interop ones,
# no linters) and `make lint` (the linters alone).
# TORCH chooses the PyTorch build and may carry pip options, e.g.
#   make demo TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN     = $(VENV)/bin

.PHONY: demo test test-fast lint browser install-demo install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[cli,demo]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[cli,dev,demo]"
	touch $@

install-demo: $(VENV)/.demo-installed
install-dev: $(VENV)/.dev-installed

demo: install-demo
	$(BIN)/embedlayer demo $(ARGS)

# pytest exits 5 when it collected no tests: that is a failure of the suite, not a pass.
# Under CI=true, Debian's chromium and chromium-driver are installed first for the explorer's
# browser tests (tests/viz/test_viz_browser.py); where that is impossible they skip with the reason.
test: install-dev
	@if [ "$$CI" = "true" ]; then $(MAKE) --no-print-directory browser; fi
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -q $(ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$rc

# The quick loop: no linters, and none of the tests marked slow, browser or interop (pyproject.toml).
test-fast: install-dev
	$(BIN)/python -m pytest -q -m "not slow and not browser and not interop" $(ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$rc

# The layering contracts (import-linter), lint and format check (ruff), types (mypy); each stops the build.
lint: install-dev
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

# Headless Chromium for the browser tests: Debian's packages, as root, never a downloaded browser.
# Never fails the build: without root or apt-get the browser tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "browser tests: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "browser tests: installing Debian's chromium and chromium-driver"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver >/dev/null \
		|| echo "browser tests: chromium could not be installed; they will skip" >&2; \
	else \
		echo "browser tests: no root or no apt-get, chromium not installed; they will skip" >&2; \
	fi

# numba's on-disk cache of compiled kernels (*.nbi index, *.nbc code) lives in the __pycache__ beside
# each kernel's file (src/embedlayer/_jit.py), unless NUMBA_CACHE_DIR names a folder of the user's own.
clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
	find src tests bench -depth -type d -name __pycache__ -exec rm -rf {} +
