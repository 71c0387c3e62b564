# Two commands on a fresh machine with only python3: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAGE ?= prod
ROLE ?= citizen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test lint test-unit test-integration test-e2e test-browser test-fuzz fuzz web browser screens bench-web demo token bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

run: install web  ## start moto + resources + API and site (:8000) + simulated bank (:8001), in the foreground
	$(BIN)/python -m chalicelib.local.stack

test: install lint web browser  ## lint + contracts, every test (unit, integration, e2e, browser), package + cfn-lint
	$(BIN)/python -m pytest -n 2 -q -p no:cacheprovider --ignore=tests/fuzz --ignore=tests/browser tests
	$(MAKE) --no-print-directory test-browser  # its own processes and stacks: the screens' journeys take provinces
	$(MAKE) --no-print-directory test-fuzz  # its own processes and stacks: nothing shared with the suites above
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

test-browser: install web browser  ## the site in headless Chromium (every screen journey, keyboard, axe, CSP), ~5 min on 2 cores
	REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 2 -q -p no:cacheprovider tests/browser

# Schemathesis against the local stack for every caller (tests/fuzz; part of `make test` with its CI size). `make fuzz`
# runs it alone with more cases; FUZZ_SEED=... explores another sequence (the seed is printed in the pytest header).
FUZZ_MORE ?= 10000
test-fuzz: install
	$(BIN)/python -m pytest -n 2 -q -p no:cacheprovider tests/fuzz

fuzz: install
	FUZZ_CASES=$${FUZZ_CASES:-$(FUZZ_MORE)} $(BIN)/python -m pytest -n 2 -q -p no:cacheprovider tests/fuzz

web: install  ## build the static site web/src -> web/dist (subset fonts, hashed assets, first-load budget)
	$(BIN)/python -m web.build

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work without a network).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "chromium missing: run apt-get install chromium as root" >&2; exit 1; }

screens: install web browser  ## a screenshot of every screen at 360x780 and 1280x800 -> out/screens/
	$(BIN)/python -m web.screens --out out/screens

bench-web: install web browser  ## per page: bytes and time to usable on slow 4G vs a minimal static page -> bench/web.json
	$(BIN)/python -m bench.web

demo: install  ## with `make run` going in another terminal
	$(BIN)/python -m chalicelib.local.demo

token: install  ## make token ROLE=citizen|officer|province_admin|operator
	@$(BIN)/python -m chalicelib.local.token --role $(ROLE)

bench: install web browser  ## writes bench/results.json, and bench/web.json for the site
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.web

clean:
	rm -rf $(VENV) out demo-output .pytest_cache web/dist

include infra/make.mk
