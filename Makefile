# The two commands: `make lab` (work through the labs) and `make test` (prove they work).
# Each sets itself up: a .venv is created if missing and re-installed when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
ifeq ($(OS),Windows_NT)
  BIN := $(VENV)/Scripts
else
  BIN := $(VENV)/bin
endif
STAMP := $(VENV)/.streamlab-installed
PYTEST_ARGS ?=
# Two workers; --dist loadscope keeps each notebook (all of its cells) on one worker.
TEST_WORKERS ?= 2

.PHONY: lab test unit rehearsal setup doctor lint build-labs stop clean policy

lab: $(STAMP)
	$(BIN)/streamlab lab

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# The course on the aws path: every solution notebook as three participants at once, against
# the emulator's aws profile (IAM enforced, AWS's delays scaled by 0.1); see lab_guide/rehearsal.md.
rehearsal: $(STAMP)
	$(BIN)/streamlab rehearse

# The pure unit tests alone (no emulator, no notebooks): seconds, for a quick loop while editing.
unit: $(STAMP)
	$(BIN)/python -m pytest -m unit -n $(TEST_WORKERS) $(PYTEST_ARGS) tests

setup: $(STAMP)

$(STAMP): pyproject.toml package.json
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# JupyterHub's proxy for tests/hub; without npm that test is skipped, saying why.
	@if command -v npm >/dev/null 2>&1; then npm install --no-audit --no-fund --silent; \
	  else echo "npm not found: tests/hub will be skipped"; fi
	@touch $(STAMP)

doctor: $(STAMP)
	$(BIN)/streamlab doctor

lint: $(STAMP)
	$(BIN)/ruff check utils tests benchmarks

build-labs: $(STAMP)
	$(BIN)/streamlab build-labs

stop: $(STAMP)
	$(BIN)/streamlab stop

clean:
	rm -rf $(VENV) .pytest_cache node_modules

# Regenerate lab_guide/iam/ (participant policy, permissions boundary) and the record of the
# course's calls (tooling/data/lab_actions.json, lab_requests.json) from a run of the solutions.
policy: $(STAMP)
	LAB_WRITE_POLICY=1 $(BIN)/python -m pytest tests/course -k policy $(PYTEST_ARGS)
