#!/usr/bin/env bash
# `make demo`: run voxbank's main job on embedded defaults (SQLite, embedded broker, local models),
# with everything kept under ./var. Each step says what it does; steps not built yet say so.
set -euo pipefail
venv=${1:-.venv}
voxbank="$venv/bin/voxbank"
export VOXBANK_DATA_DIR=${VOXBANK_DATA_DIR:-var}

echo "== 1. database: create or update the schema in $VOXBANK_DATA_DIR/voxbank.db"
"$voxbank" db upgrade

if "$voxbank" protocols --help >/dev/null 2>&1; then
  echo "== 2. study protocol: validate the shipped Park et al. 2024 study"
  "$voxbank" protocols check
else
  echo "== 2. study protocol: not built yet"
fi

echo "== 3. doctor: what is ready and what is missing"
"$voxbank" doctor || true

echo
echo "Not built yet (each is an open issue): the simulated interview pilot, the voice interviewer,"
echo "transcription jobs, the participant web journey, the retest scheduler and the agent-bank export."
