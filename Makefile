# IOM Brussels FAQ assistant. `make run` and `make test` set everything up first; `make help` lists targets.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_MODEL := var/spacy/en_iom_lookup
MODEL := models/iom.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml data/nlu/*.yml data/nlu/*/*.yml) $(wildcard bot/nlu/*.py)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: help run shell test test-fast lint train eval bench validate setup system-packages lock tune-fallback \
        clean scale-up scale-down purge forget report review

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: setup $(MODEL)  ## set up, train if needed, start the action server, Rasa and the demo page
	$(PY) -m bot.run

shell: setup $(MODEL)  ## talk to the assistant in the terminal (rasa shell, with the action server)
	$(PY) -m bot.run --shell

test: setup $(MODEL)  ## set up and run every test, live servers included, after the lint
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest tests

test-fast: setup $(MODEL)  ## the tests that need no live server (< 90 s)
	$(PY) -m pytest tests -m "not live"

lint: setup  ## ruff on everything, mypy on bot/, actions/ and the report and review tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

train: setup  ## retrain the model even if it looks current
	$(PY) -m bot.train --fixed-model-name iom --out models --force

eval: setup  ## grade tests/dev_cases.yml against a running bot (URL=http://127.0.0.1:5005)
	$(PY) -m tools.evaluate --url $${URL:-http://127.0.0.1:$${RASA_PORT:-5005}}

tune-fallback: setup $(MODEL)  ## grid-search the fallback thresholds on tests/nlu_holdout.yml
	$(PY) -m tools.tune_fallback

bench: setup $(MODEL)  ## ours vs stock Rasa vs TF-IDF: speed, memory, accuracy (docs/benchmarks.md)
	$(PY) -m tools.bench

N ?= 2
M ?= 2
# FROM/TO: days (YYYY-MM-DD, in REPORT_TIMEZONE), default the last 30 days; DB: a tracker store URL, or
# `postgresql` for the PG_* settings (default: the SQLite file TRACKER_DB); TURN_LOG: the server's output.
PERIOD = $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(if $(DB),--db $(DB))
report: setup  ## one HTML file about the conversations (FROM= TO= DB= TURN_LOG=), var/report.html
	$(PY) -m tools.report $(PERIOD) $(if $(TURN_LOG),--turn-log $(TURN_LOG))

review: setup  ## go through the unanswered questions: assign to an intent, content backlog or ignore (FROM= TO=)
	$(PY) -m tools.review $(PERIOD)

scale-up: setup $(MODEL)  ## PostgreSQL + Redis + M action servers + N Rasa replicas behind nginx (:5080)
	$(PY) -m tools.scale up --replicas $(N) --actions $(M)

scale-down:  ## stop what scale-up started
	$(PY) -m tools.scale down

purge: setup  ## delete conversations older than RETENTION_DAYS (the server also does it daily)
	$(PY) -m bot.stores.retention purge

forget: setup  ## delete one person's conversation: make forget SENDER=socketio:<session id>
	$(PY) -m bot.stores.retention forget "$(SENDER)"

validate: setup  ## rasa data validate
	$(RASA) data validate --fail-on-warnings

setup: system-packages $(VENV)/.installed $(SPACY_MODEL)/meta.json node_modules/.installed  ## install everything

# The widget's npm packages, pinned by package-lock.json: socket.io-client (its browser bundle is served with
# web/widget/ by make run) and axe-core (injected by tests/test_widget.py). Both are regular dependencies.
node_modules/.installed: package.json package-lock.json
	npm ci --omit=dev --no-audit --no-fund
	touch $@

# System packages the set-up and tests need (Debian's; installed when missing and we are root):
# npm for the widget, Chromium for its end-to-end test, ss (iproute2) for the loopback-only test,
# PostgreSQL, Redis and nginx for the scale profile (`make scale-up`, tests/test_scale.py).
system-packages:
	@missing=""; command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v ss >/dev/null || missing="$$missing iproute2"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  { [ "$$(id -u)" = 0 ] && apt-get update -q && tools/apt-install-quietly $$missing; } || \
	  { echo "missing system packages:$$missing (apt-get install$$missing)" >&2; exit 1; }; fi

# Python packages: every one pinned in requirements.lock by version and by the SHA-256 of each file published for
# it (make lock). --require-hashes refuses any file whose hash is not listed and --no-deps installs nothing the
# lock does not name. pip, setuptools and wheel come first, from the same lock, so that the three sdists
# (docopt, mattermostwrapper, randomname) are built with them (--no-build-isolation) rather than with a build
# backend fetched unpinned; pip check then proves the lock complete.
$(VENV)/.installed: requirements.lock
	@test -x $(PY) || { py=$$(tools/find-python310) && "$$py" -m venv $(VENV); }
	awk '/^[^ #]/ { keep = /^(pip|setuptools|wheel)==/ } keep' requirements.lock > $(VENV)/build-tools.lock
	$(PY) -m pip install --progress-bar on --require-hashes --no-deps -r $(VENV)/build-tools.lock
	$(PY) -m pip install --progress-bar on --require-hashes --no-deps --no-build-isolation -r requirements.lock
	$(PY) -m pip check
	touch $@

$(SPACY_MODEL)/meta.json: $(VENV)/.installed bot/nlu/spacy_pipeline.py
	$(PY) -m bot.nlu.spacy_pipeline $(SPACY_MODEL)

$(MODEL): $(VENV)/.installed $(SPACY_MODEL)/meta.json data/nlu/lookup_subject.yml $(TRAINING_INPUTS) bot/train.py
	$(PY) -m bot.train --fixed-model-name iom --out models

data/nlu/lookup_subject.yml: $(wildcard data/nlu/*/synonyms.yml) tools/sync_lookup.py
	$(PY) -m tools.sync_lookup

# make lock: requirements.in -> requirements.lock, every package (pip, setuptools and wheel too) pinned by version
# and by the SHA-256 of every file the index publishes for that version. Pins already in requirements.lock are
# kept, so running it again changes nothing unless requirements.in did; to move pins, make lock
# LOCK_ARGS="--upgrade-package NAME" (or LOCK_ARGS=--upgrade). It runs, in a scratch venv var/lock-venv holding
# pip-tools (pinned by hash in tools/lock-tools.txt; not a project dependency), against the package index alone
# (this machine's pip config, its local wheel folders and mirrors, is ignored):
#   pip-compile --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
#     --output-file requirements.lock requirements.in
# through tools/pip_compile_index_hashes.py, which reads each file's hash from the index's listing instead of
# downloading every file of every platform (the index serves no JSON API; see its docstring).
LOCK_ARGS ?=
lock:  ## re-resolve requirements.in into the hash-pinned requirements.lock (pip-compile, in a scratch venv)
	rm -rf var/lock-venv && "$$(tools/find-python310)" -m venv var/lock-venv
	var/lock-venv/bin/pip install --quiet --require-hashes --no-deps -r tools/lock-tools.txt
	env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
	  CUSTOM_COMPILE_COMMAND="make lock" var/lock-venv/bin/python tools/pip_compile_index_hashes.py \
	  --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	  --no-emit-trusted-host $(LOCK_ARGS) --output-file requirements.lock requirements.in

clean:  ## remove models, var/ and Rasa's caches
	rm -rf models var .rasa results
