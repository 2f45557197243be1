#!/usr/bin/env bash
# `make demo`: voxbank's main job on embedded defaults (SQLite, the embedded broker, local models,
# the embedded llama.cpp server with Gemma 3 270M), everything kept under ./var. No server to start,
# no API key.
set -euo pipefail
venv=${1:-.venv}
voxbank="$venv/bin/voxbank"
export VOXBANK_DATA_DIR=${VOXBANK_DATA_DIR:-var}
mkdir -p "$VOXBANK_DATA_DIR"

echo "== 1/5 database: create or update the schema in $VOXBANK_DATA_DIR/voxbank.db"
"$voxbank" db upgrade

echo "== 2/5 study: validate the shipped Park et al. 2024 study"
"$voxbank" protocols check

echo "== 3/5 interviews: two simulated participants interviewed on the short guide by the local LLM"
"$voxbank" pilot --personas 2 --guide short --json "$VOXBANK_DATA_DIR/pilot-report.json"

echo "== 4/5 transcription: Whisper over a synthesised two-channel recording, side by side with plain faster-whisper"
"$venv/bin/python" -m bench.transcribe

echo "== 5/5 doctor: what is ready and what is missing"
"$voxbank" doctor || true

cat <<MSG

Done. The pilot interviews are in $VOXBANK_DATA_DIR/voxbank.db and the report in
$VOXBANK_DATA_DIR/pilot-report.json. To walk the participant journey in a browser:
  $voxbank serve      then open http://127.0.0.1:8000/study/park2024/start?PROLIFIC_PID=5f3c2b1a9d8e7f6a5b4c3d2e&STUDY_ID=65a0f00d1234567890abcdef&SESSION_ID=0d3e5a1b2c4f6a7b8c9d0e1f
To talk to the interviewer in the terminal:  $voxbank interview --text --guide short
MSG
