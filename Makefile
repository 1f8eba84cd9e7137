# Every install step lives here: a fresh clone needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev

.PHONY: dev test unit functional e2e bench lint package deploy clean cli

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or make PYTHON=python3 ...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

dev: $(STAMP)  ## the whole stack locally: API on http://127.0.0.1:8000
	HAT_STAGE=$(STAGE) $(PY) -m infra.local

test: $(STAMP) lint  ## the whole test suite, after the linters (seconds)
	$(PY) -m pytest -q tests/unit tests/functional tests/e2e

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

functional: $(STAMP)
	$(PY) -m pytest -q tests/functional

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

bench: $(STAMP)  ## benchmarks: ratios against peers measured in the same run
	@missed=""; for f in tests/bench/bench_*.py; do echo "== $$f"; $(PY) $$f || missed="$$missed $$f"; done; \
	if [ -n "$$missed" ]; then echo "budget missed or bench failed:$$missed"; exit 1; fi

lint: $(STAMP)  ## ruff, and import-linter's contracts (pyproject.toml: dependencies point one way)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache

cli: $(STAMP)  ## the pipeline command's wheel in build/cli/ (pip install build/cli/hat_cli-*.whl)
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir build/cli ./cli
	@ls build/cli/hat_cli-*.whl

package: $(STAMP)  ## one SAM template + deployment.zip in build/$(STAGE)/ (offline)
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
	rm -rf $(VENV) .pytest_cache .ruff_cache
