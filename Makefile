# Every install step lives here: a fresh clone needs only Python 3.11 and Node 20+ with npm.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev

# The web console (console/, TypeScript + Vite) builds into the Python package it is served
# from; rebuilt only when its sources change. Needs Node 20+ and npm.
CONSOLE_BUILT := chalicelib/console/static/.built
CONSOLE_MODULES := console/node_modules/.installed
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/index.html console/vite.config.ts console/tsconfig.json

.PHONY: dev test unit functional e2e browser bench lint package deploy clean console cli compat

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or make PYTHON=python3 ...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(CONSOLE_MODULES): console/package.json console/package-lock.json
	@command -v npm >/dev/null || { echo "need Node 20+ and npm on PATH (the console's build)"; exit 1; }
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE_MODULES)

$(CONSOLE_BUILT): $(CONSOLE_MODULES) $(CONSOLE_SOURCES)
	cd console && npm run --silent build
	touch $(CONSOLE_BUILT)

console: $(CONSOLE_BUILT)  ## build the web console into chalicelib/console/static/

dev: $(STAMP) $(CONSOLE_BUILT)  ## the whole stack locally: API on http://127.0.0.1:8000
	HAT_STAGE=$(STAGE) $(PY) -m infra.local

test: $(STAMP) $(CONSOLE_BUILT) lint  ## the whole suite after the linters (the browser tests need /usr/bin/chromium: .ci/run)
	$(PY) -m pytest -q tests/unit tests/functional tests/e2e tests/browser

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

functional: $(STAMP)
	$(PY) -m pytest -q tests/functional

e2e: $(STAMP) $(CONSOLE_BUILT)
	$(PY) -m pytest -q tests/e2e

browser: $(STAMP) $(CONSOLE_BUILT)  ## the console in headless Chromium
	$(PY) -m pytest -q tests/browser

bench: $(STAMP) $(CONSOLE_BUILT)  ## benchmarks: ratios against peers measured in the same run
	@missed=""; for f in tests/bench/bench_*.py; do echo "== $$f"; $(PY) $$f || missed="$$missed $$f"; done; \
	if [ -n "$$missed" ]; then echo "budget missed or bench failed:$$missed"; exit 1; fi

compat: $(STAMP)  ## the HttpRunner compatibility suite: hat and hrun 3.1.11 (own venv, in .bench/) side by side
	$(PY) tests/compat/compare.py

lint: $(STAMP)  ## ruff, import-linter's contracts (pyproject.toml: dependencies point one way), mypy (strict on core/ and runner/)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m mypy

cli: $(STAMP)  ## the pipeline command's wheel in build/cli/ (pip install build/cli/hat_cli-*.whl)
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir build/cli ./cli
	@ls build/cli/hat_cli-*.whl

package: $(STAMP) $(CONSOLE_BUILT)  ## one SAM template + deployment.zip in build/$(STAGE)/ (offline)
	$(PY) -m infra.package --stage $(STAGE)
	$(VENV)/bin/cfn-lint build/$(STAGE)/sam.yaml

deploy: package  ## see docs/deploy.md; needs AWS credentials and DEPLOY_BUCKET
	@test -n "$(DEPLOY_BUCKET)" || { echo "set DEPLOY_BUCKET=<an S3 bucket for the code>"; exit 1; }
	test -x .venv-deploy/bin/aws || { $(PYTHON) -m venv .venv-deploy && \
		.venv-deploy/bin/pip install --quiet -r requirements-deploy.txt; }
	.venv-deploy/bin/aws cloudformation package --template-file build/$(STAGE)/sam.yaml \
		--s3-bucket $(DEPLOY_BUCKET) --output-template-file build/$(STAGE)/packaged.yaml
	.venv-deploy/bin/aws cloudformation deploy --template-file build/$(STAGE)/packaged.yaml \
		--stack-name hat-$(STAGE) --capabilities CAPABILITY_IAM --parameter-overrides Stage=$(STAGE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache console/node_modules chalicelib/console/static
