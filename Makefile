# The two set-up commands of the README, and a few more.
#   make demo    the main job, offline: a throwaway repository, a crew of scripted agents
#   make test    the whole test suite, in parallel, then the cluster suites (what .ci/run runs)
#   make bench   the benchmarks (bench/README.md)
#   make coverage  the suite with coverage, subprocesses included; per package (docs/coverage.md)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo test bench tools clean coverage

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/cairn demo

tools:
	sh .ci/tools.sh

# The cluster suites (a Ray head, a Slurm cluster: one each, started once)
# run after the rest, in one process; everything else in parallel.
test: $(VENV)/.installed tools
	$(BIN)/python -m pytest -n auto -q --durations=25 -m "not ray and not slurm"
	$(BIN)/python -m pytest -q -m "ray or slurm" tests/test_executors.py

# The same two runs as `make test` (the cluster suites count too), each
# process into its own data file, then combined; the figures are printed even
# when a test failed, and the target fails then too.
coverage: $(VENV)/.installed tools
	rm -rf .coverage-data && mkdir .coverage-data
	export COVERAGE_FILE=$(CURDIR)/.coverage-data/coverage; failed=0; \
	$(BIN)/python -m coverage run -m pytest -n auto -q -p no:cacheprovider -m "not ray and not slurm" || failed=1; \
	$(BIN)/python -m coverage run -m pytest -q -p no:cacheprovider -m "ray or slurm" tests/test_executors.py || failed=1; \
	$(BIN)/python -m coverage combine -q .coverage-data && \
	$(BIN)/python -m coverage json -q -o .coverage-data/coverage.json && \
	$(BIN)/python .ci/coverage_by_package.py .coverage-data/coverage.json || failed=1; \
	[ $$failed = 0 ] || { echo "make coverage: a test failed or a bar was missed (above)" >&2; exit 1; }

bench: $(VENV)/.installed
	sh .ci/tools.sh bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .tools .pytest_cache .coverage-data
