# Packaging and linting of the AWS resources. Included by the main Makefile, which defines VENV ?= .venv and
# STAGE ?= prod. `make package` writes out/sam.json: the Chalice app merged with infra/resources.json, finished by
# infra/package.py (SQS ReportBatchItemFailures, resource env vars and IAM), and checked by cfn-lint (zero errors).

VENV ?= .venv
STAGE ?= prod
# Chalice wants a region even to package; the template itself uses ${AWS::Region}.
AWS_REGION ?= ap-southeast-1

.PHONY: package lint-infra

# Chalice imports app.py with the stage's environment_variables from .chalice/config.json: APP_STAGE there is what
# makes app.py name the right SQS queue (infra/package.py refuses a queue the template lacks for the stage).
package:
	rm -rf out
	AWS_DEFAULT_REGION=$(AWS_REGION) $(VENV)/bin/chalice package --stage $(STAGE) --merge-template infra/resources.json out/
	$(VENV)/bin/python infra/package.py --stage $(STAGE) --in out/sam.json --out out/sam.json
	$(VENV)/bin/cfn-lint out/sam.json

# The template on its own: the reference to Chalice's RestAPI is its one documented cfn-lint ignore (E1019).
lint-infra:
	$(VENV)/bin/cfn-lint infra/resources.json
