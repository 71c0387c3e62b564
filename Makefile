# Two commands on a fresh machine with only python3: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAGE ?= prod
ROLE ?= citizen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test lint test-unit test-integration test-e2e demo token bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

run: install  ## start moto + resources + API (:8000) + simulated bank (:8001), in the foreground
	$(BIN)/python -m chalicelib.local.stack

test: install lint  ## lint + architecture contracts, every test (unit, integration over HTTP, e2e), package + cfn-lint
	$(BIN)/python -m pytest -n 2 -q -p no:cacheprovider tests
	$(MAKE) --no-print-directory package

lint: install  ## ruff (style, complexity) and import-linter (the architecture as a checked contract)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test-unit: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

test-integration: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/integration

test-e2e: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e

demo: install  ## with `make run` going in another terminal
	$(BIN)/python -m chalicelib.local.demo

token: install  ## make token ROLE=citizen|officer|province_admin|operator
	@$(BIN)/python -m chalicelib.local.token --role $(ROLE)

bench: install  ## writes bench/results.json
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) out demo-output .pytest_cache

include infra/make.mk
