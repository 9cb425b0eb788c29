# Two entry points for a fresh machine:
#   make demo   runs the whole system locally
#   make test   creates .venv, installs what the tests need, runs every test
# Both are idempotent.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck unit bench tools clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# System tools (Debian's Chromium for the browser tests) and the upstream Kubernetes
# binaries, built once from their Go modules into ~/.cache/guestbook-ledger (decision 0090).
tools: $(STAMP)
	@scripts/ensure-tools
	@$(BIN)/guestbook-ledger cluster build

# lint-imports: the layers' import contracts (.importlinter, decision 0141).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/ruff check --no-force-exclude charts/guestbook-ledger/files/sign_and_wait.py

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict scripts/install-image
	$(BIN)/mypy --strict charts/guestbook-ledger/files/sign_and_wait.py

test: $(STAMP) lint typecheck tools
	$(BIN)/pytest

demo: $(STAMP) tools
	$(BIN)/guestbook-ledger dev

bench: $(STAMP)
	$(BIN)/guestbook-ledger bench ledger

clean:
	rm -rf $(VENV) .dev .pytest_cache .mypy_cache .ruff_cache
