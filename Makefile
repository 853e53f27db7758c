# IOM Brussels FAQ assistant. `make run` and `make test` set everything up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_MODEL := var/spacy/en_iom_lookup
MODEL := models/iom.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml data/nlu/*.yml)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: run shell test train eval bench validate setup system-packages lock tune-fallback clean scale-up scale-down

run: setup $(MODEL)  ## set up, train if needed, start action server + Rasa (REST)
	$(PY) -m bot.tools.run

shell: setup $(MODEL)  ## rasa shell with the action server running
	$(PY) -m bot.tools.run --shell

test: setup $(MODEL)  ## set up and run every test
	$(PY) -m pytest tests

train: setup  ## retrain the model even if it looks current
	$(RASA) train --fixed-model-name iom --out models --force

eval: setup  ## grade tests/dev_cases.yml against a running bot (URL=http://127.0.0.1:5005)
	$(PY) -m bot.tools.evaluate --url $${URL:-http://127.0.0.1:$${RASA_PORT:-5005}}

tune-fallback: setup $(MODEL)  ## grid-search FallbackClassifier thresholds on tests/nlu_holdout.yml
	$(PY) -m bot.tools.tune_fallback

bench: setup $(MODEL)  ## ours vs stock Rasa vs TF-IDF: speed, memory, accuracy (docs/benchmarks.md)
	$(PY) -m bot.tools.bench

N ?= 2
M ?= 2
scale-up: setup $(MODEL)  ## PostgreSQL + Redis + M action servers + N Rasa replicas behind nginx (:5080)
	$(PY) -m bot.tools.scale up --replicas $(N) --actions $(M)

scale-down:  ## stop what scale-up started
	$(PY) -m bot.tools.scale down

validate: setup
	$(RASA) data validate --fail-on-warnings

setup: system-packages $(VENV)/.installed $(SPACY_MODEL)/meta.json node_modules/.installed

# The widget: rasa-webchat from npm, pinned by package-lock.json, served locally by make run.
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
	  { [ "$$(id -u)" = 0 ] && apt-get update -q && bot/tools/apt-install-quietly $$missing; } || \
	  { echo "missing system packages:$$missing (apt-get install$$missing)" >&2; exit 1; }; fi

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || { py=$$(bot/tools/find-python310) && "$$py" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip==24.0
	$(PY) -m pip install --progress-bar on -r requirements.lock
	touch $@

$(SPACY_MODEL)/meta.json: $(VENV)/.installed bot/tools/build_spacy.py
	$(PY) -m bot.tools.build_spacy $(SPACY_MODEL)

$(MODEL): $(VENV)/.installed $(SPACY_MODEL)/meta.json data/nlu/lookup_subject.yml $(TRAINING_INPUTS)
	$(RASA) train --fixed-model-name iom --out models

data/nlu/lookup_subject.yml: data/nlu/synonyms.yml bot/tools/sync_lookup.py
	$(PY) -m bot.tools.sync_lookup

lock:  ## re-resolve requirements.in into requirements.lock in a scratch venv
	rm -rf var/lock-venv && "$$(bot/tools/find-python310)" -m venv var/lock-venv
	var/lock-venv/bin/pip install --quiet pip==24.0 && var/lock-venv/bin/pip install -r requirements.in
	var/lock-venv/bin/pip freeze --all | grep -v '^pip==' > requirements.lock

clean:
	rm -rf models var .rasa results
