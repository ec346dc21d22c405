#!/usr/bin/env bash
# Executes notebooks in real Jupyter with the tslab kernel and fails on the first cell
# error. Usage: scripts/run-notebooks.sh [--in-place] [notebook ...]
#   default: every notebooks/NN-*.ipynb, quick mode (AELAB_QUICK=1), outputs to a temp dir.
#   --in-place: full mode, outputs written back into the notebooks (to commit them).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

if ! command -v jupyter-nbconvert >/dev/null && ! jupyter nbconvert --version >/dev/null 2>&1; then
  echo "jupyter nbconvert not found: apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel" >&2
  exit 1
fi
# Debian's Jupyter lives in the system Python, which may not be the first python3 on PATH.
python=/usr/bin/python3
tslab install --python="$python" >/dev/null

inplace=0
if [ "${1:-}" = "--in-place" ]; then inplace=1; shift; fi
if [ $# -eq 0 ]; then set -- notebooks/[0-9][0-9]-*.ipynb; fi

out=$(mktemp -d)
for nb in "$@"; do
  start=$(date +%s)
  if [ $inplace = 1 ]; then
    (cd notebooks && jupyter nbconvert --to notebook --execute --inplace \
      --ExecutePreprocessor.timeout=3600 "$(basename "$nb")") 2>"$out/log" || { cat "$out/log" >&2; exit 1; }
  else
    (cd notebooks && AELAB_QUICK=1 jupyter nbconvert --to notebook --execute \
      --ExecutePreprocessor.timeout=1200 --output-dir "$out" "$(basename "$nb")") 2>"$out/log" || { cat "$out/log" >&2; exit 1; }
  fi
  echo "ok   $nb ($(( $(date +%s) - start )) s)"
done
