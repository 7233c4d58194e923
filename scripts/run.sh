#!/usr/bin/env bash
# Quick start: installs what is missing, builds (Release) and starts `llm-gateway server`.
# Arguments are passed to the server, e.g. scripts/run.sh --port 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh release
exec build/apps/llm-gateway/llm-gateway server "$@"
