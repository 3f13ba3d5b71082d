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
# process into its own data file, then combined.
coverage: $(VENV)/.installed tools
	rm -rf .coverage-data && mkdir .coverage-data
	COVERAGE_FILE=$(CURDIR)/.coverage-data/coverage $(BIN)/python -m coverage run -m pytest -n auto -q -p no:cacheprovider -m "not ray and not slurm"
	COVERAGE_FILE=$(CURDIR)/.coverage-data/coverage $(BIN)/python -m coverage run -m pytest -q -p no:cacheprovider -m "ray or slurm" tests/test_executors.py
	COVERAGE_FILE=$(CURDIR)/.coverage-data/coverage $(BIN)/python -m coverage combine -q .coverage-data
	COVERAGE_FILE=$(CURDIR)/.coverage-data/coverage $(BIN)/python -m coverage json -q -o .coverage-data/coverage.json
	$(BIN)/python .ci/coverage_by_package.py .coverage-data/coverage.json

bench: $(VENV)/.installed
	sh .ci/tools.sh bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .tools .pytest_cache .coverage-data
