# Two commands on a fresh machine:
#   make app    install (first time) and start the app on the offline default
#   make test   install (first time, chromium included) and run the tests
PY := .venv/bin/python
export HF_HUB_OFFLINE ?= 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: app test lint pack bench

app:
	bash scripts/setup.sh app
	$(PY) app.py

test:
	bash scripts/setup.sh test
	$(PY) -m pytest -q

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

pack:
	$(PY) scripts/build_pack.py
	STICKERBOT_DATA_DIR=$$(mktemp -d) $(PY) -m stickerbot index export-vectors

bench:
	$(PY) -m stickerbot bench search
