#!/usr/bin/env bash
# Install everything the test suite needs (Debian's Chromium, npm packages, the Python package with
# its test extras), then run the whole suite: linters, type checks, jest, pytest (unit, kernel,
# server and browser tiers). This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

if ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

log "npm ci"
npm ci --no-audit --no-fund --loglevel=error

log "pip install -e .[test,mlflow]"
python3 -m pip install -q --disable-pip-version-check -e ".[test,mlflow]" 2>&1 \
  | grep -v -e "^WARNING: Location" -e "Running pip as the 'root' user" || true
# A real non-Python kernel for the verify tests (bash_kernel is in the test extra; its kernelspec
# goes into this Python's prefix so every Jupyter path lookup finds it).
python3 -m bash_kernel.install --sys-prefix >/dev/null
python3 -c "import nbrepro, sys; print('nbrepro', nbrepro.__version__, 'on Python', sys.version.split()[0])"

log "lint: ruff, mypy, eslint, prettier"
python3 -m ruff check src tests benchmarks
python3 -m ruff format --check src tests benchmarks
python3 -m mypy
npm run -s lint:check

log "jest"
npx jest --silent

log "pytest: unit, kernel, server tiers (two workers)"
python3 -m pytest -p no:cacheprovider -n 2 --ignore=tests/ui "$@"

log "pytest: browser tier (Debian's Chromium)"
python3 -m pytest -p no:cacheprovider tests/ui "$@"
