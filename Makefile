# Helix: two commands on a fresh machine.
#   make demo   bring up Kafka + MinIO and run the main job end to end
#   make test   set everything up and run the whole test suite (what CI runs)
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export PATH := $(HOME)/.local/bin:$(shell python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null):$(PATH)
RUN := uv run --all-packages --locked

.PHONY: setup demo test test-slow test-fast typecheck infra-up infra-down infra-status asyncapi schemas bench clean

setup:
	@./deploy/local/setup.sh

demo: setup  ## the whole production, stack up to animatics, then everything stopped (KEEP=1 leaves it running)
	$(RUN) helix demo $(if $(KEEP),--keep,)

test: setup  ## ruff + the type checker + every test but the slow ones (fault suites, tests over 30 s; CI runs those too: .ci/run)
	$(RUN) ruff check shared services dev tests bench
	$(RUN) mypy
	$(RUN) pytest -m "not slow" --durations=20

test-slow: setup  ## the slow suites: services killed, the store taken away mid-job, the broker restarted again and again, and every test over 30 s
	$(RUN) pytest -m slow --durations=20

typecheck: setup  ## mypy over shared/ and services/ (configured in pyproject.toml)
	$(RUN) mypy

test-fast: setup  ## contracts and unit tests only, no servers and no real small models
	$(RUN) pytest shared/tests services -m "not real_models"

infra-up: setup
	$(RUN) helix infra up

infra-down:
	$(RUN) helix infra down

infra-status:
	$(RUN) helix infra status

asyncapi: setup  ## regenerate docs/asyncapi.yaml from the event models
	PYTHONHASHSEED=0 $(RUN) faststream docs gen helix.events.asyncapi:app --yaml --out docs/asyncapi.yaml

schemas: setup  ## JSON Schema of every event type
	$(RUN) helix events schemas docs/events

bench: setup  ## every benchmark (bench/run_all.py), the episode last; figures in bench/RESULTS.md and bench/results.json
	$(RUN) python bench/run_all.py

clean:
	-$(RUN) helix infra down
	rm -rf .helix/test-infra
