# The one entry point. `make demo` runs a sample campaign on the local stack; `make test` runs
# every check. Both install what they need (virtualenv, npm packages, cargo-lambda) themselves.
SHELL := /bin/bash
ARCH ?= x86_64

.PHONY: help build demo test bench fmt docs clean tools

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## build every Lambda into dist/$(ARCH)/<function>/bootstrap.zip (ARCH=x86_64|arm64)
	scripts/build.sh $(ARCH)

demo: ## run a sample campaign end to end on the local stack (no AWS account)
	scripts/demo.sh

test: ## run every check and test (what CI runs)
	scripts/test.sh

bench: ## measure the product against its targets (prints BENCH lines)
	scripts/bench.sh

fmt: ## format Rust and Terraform
	cargo fmt --all
	terraform fmt -recursive

docs: ## regenerate the inputs/outputs tables in the READMEs
	python3 scripts/readme-tables.py

tools: ## install the local tools (.venv, .tools)
	source scripts/lib.sh && ensure_venv && ensure_terraform && ensure_asl_validator && ensure_checkov

clean: ## remove build outputs and local tools
	rm -rf dist .build target .venv .tools
