# Packaging and checking of the AWS resources. Included by the main Makefile, which defines VENV ?= .venv and
# STAGE ?= prod. `make package` writes out/sam.json and out/deployment.zip: the Chalice app merged with
# infra/resources.json, finished by infra/package.py (SQS/stream wiring, resource env vars, one IAM role, log group
# and alarms per function, API Gateway settings, a deployment zip without the runtime's boto3 and at most 30 MB),
# then checked by cfn-lint (zero errors) and checkov (zero failed checks; every skip is justified in the template).

VENV ?= .venv
STAGE ?= prod
# Chalice wants a region even to package; the template itself uses ${AWS::Region}.
AWS_REGION ?= ap-southeast-1
# checkov pins ~60 packages (boto3 among them) that clash with the app's: it lives in a virtualenv of its own.
CHECKOV_VENV ?= .venv-checkov
PY ?= python3

.PHONY: package lint-infra checkov

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# Chalice imports app.py with the stage's environment_variables from .chalice/config.json: APP_STAGE there is what
# makes app.py name the right SQS queue (infra/package.py refuses a queue the template lacks for the stage).
package: $(CHECKOV_VENV)/.installed
	rm -rf out
	AWS_DEFAULT_REGION=$(AWS_REGION) $(VENV)/bin/chalice package --stage $(STAGE) --merge-template infra/resources.json out/
	$(VENV)/bin/python infra/package.py --stage $(STAGE) --in out/sam.json --out out/sam.json --zip out/deployment.zip
	$(VENV)/bin/cfn-lint out/sam.json
	$(MAKE) --no-print-directory checkov

# Zero failed checks: a check that does not apply is skipped in the template itself (Metadata.checkov.skip, with
# the reason), never here.
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f out/sam.json

# The template on its own: its references to Chalice's RestAPI are its one documented cfn-lint ignore (E1019).
lint-infra:
	$(VENV)/bin/cfn-lint infra/resources.json
