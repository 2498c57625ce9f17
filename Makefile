# Frames to Policies: every target sets itself up on a fresh machine.
#   make book   build the executed site into _build/html
#   make test   what CI runs: package tests, notebooks (fast profile), book build, browser check
#   make lab    JupyterLab on the chapters as notebooks that read like the site (f2p_tools.lab)
#   make dist   the package's wheel and sdist into dist/ (frames-to-policies, imported as f2p)
#   make notebooks  the executed notebooks, laid out for the launch buttons' `notebooks` branch
#   make pdf    the whole book as one PDF, into the site's downloads
#   make assignments  per chapter: student notebook, instructor key, otter autograder
#   make stress chapters executed many times by both notebook paths (issue 24; not in CI)
#   make gpu    every chapter's full profile and the device benchmarks on a CUDA GPU, then the
#               tests that need one (benchmarks/suite.py; not in CI)
# The publishing workflows (.github/workflows) call these targets and nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := vendor/site/.installed
JOBS   ?= 2
# The tested PyTorch, installed before the project: a looser request can pull a multi-GB CUDA build.
# Written here only: f2p_tools.settings.TORCH reads it (the kit's grading image); environment.yml,
# which cannot include it, repeats it (tests/test_packaging.py checks that the two agree).
TORCH  := torch==2.13.0

.PHONY: book test lab assets chromium clean dist notebooks check-version pdf stress assignments gpu
.DEFAULT_GOAL := test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[book,dev,bench,scale,teach,mujoco]'  # bench, scale, teach, mujoco: SB3, TRL, otter and MuJoCo tests run too
	touch $@

# MathJax, require.js and the ipywidgets HTML manager, served by the site itself (no CDN)
$(ASSETS): vendor/package.json vendor/package-lock.json vendor/collect.sh
	bash vendor/collect.sh
	touch $@

assets: $(ASSETS)

# Chromium prints the PDF; poppler's pdfinfo numbers its contents, pdftotext checks it (make pdf)
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && \
	  command -v pdfinfo >/dev/null || \
	  { echo "installing Debian's chromium, chromium-driver and poppler-utils (browser test, PDF)"; \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null; }

book: $(STAMP) $(ASSETS)
	$(BIN)/jupyter-book build . -W --keep-going
	@echo "Open $(CURDIR)/_build/html/index.html"

test: $(STAMP) $(ASSETS) chromium
	$(BIN)/ruff check src tests book benchmarks
	$(BIN)/ruff format --check src tests book benchmarks
	# one thread per process, child processes included: the two workers share two cores
	F2P_PROFILE=fast OMP_NUM_THREADS=1 $(BIN)/pytest -n $(JOBS) --dist worksteal -m "not site" --durations=10
	F2P_PROFILE=fast $(BIN)/jupyter-book build . -W --keep-going
	$(MAKE) dist notebooks pdf
	# two browsers, one per worker: the page checks are independent
	$(BIN)/pytest -n $(JOBS) --dist worksteal -m site tests/test_site.py tests/test_readers_path.py tests/test_publishing.py tests/test_clean_notebooks.py --durations=5

# The instructors' kit into _build/assignments/<chapter>/{student,autograder} (book/assignments.py):
# the package and its `teach` extra alone (otter-grader), not the whole development environment
TEACH := $(VENV)/.teach
$(TEACH): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[teach]'
	touch $@

assignments: $(TEACH)
	$(BIN)/python book/assignments.py --out _build/assignments

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist . >/dev/null
	@ls -l dist

# The whole book as one PDF (after `make book`, which it links from): the single-page build,
# reusing the execution cache, printed by the browser tests' Chromium (offline)
pdf: $(STAMP) $(ASSETS) chromium
	F2P_PROFILE=fast $(BIN)/jupyter-book build . --builder singlehtml --keep-going
	$(BIN)/python -m f2p_tools.print_pdf _build/singlehtml _build/html/downloads

# Issue 24: chapters executed RUNS times each, two at a time, by nbclient and nbconvert; a run
# past STALL seconds gets its stacks and last kernel messages recorded (_build/stress). Not in CI.
CHAPTERS ?= 06
RUNS     ?= 50
STALL    ?= 900
stress: $(STAMP)
	$(BIN)/python tests/stress/stress.py $(CHAPTERS) --runs $(RUNS) --stall-after $(STALL)

# The full-profile suite on one CUDA GPU (issue 20): notebooks and device benchmarks, JOBS_GPU
# at a time; executed notebooks under _build/suite/full-cuda, the summary in f2p/data/suite/full.json
# (shown on the results page); then the tests that only run where CUDA is.
JOBS_GPU ?= 4
gpu: $(STAMP)
	$(BIN)/python benchmarks/suite.py --profile full --device cuda --jobs $(JOBS_GPU)
	$(BIN)/pytest -m "not site" -k "gpu or cuda" tests/test_llm.py tests/test_device_guard.py

# The release workflow's first step: the tag (vX.Y.Z) must name the package's version
check-version:
	@test "$(TAG)" = "v$$(sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' src/f2p/__init__.py)" || \
	  { echo "tag '$(TAG)' does not match f2p.__version__; bump src/f2p/__init__.py"; exit 1; }

# After `make book`: the executed notebooks at their sources' paths, with what Binder installs
notebooks: $(STAMP)
	$(BIN)/python -m f2p_tools.notebooks_branch _build/html _build/notebooks

# JupyterLab on the chapters as a reader's notebooks (_build/lab), the sources as Jupytext notebooks
lab: $(STAMP)
	$(BIN)/python -m f2p_tools.lab

clean:
	rm -rf _build vendor/site vendor/node_modules
