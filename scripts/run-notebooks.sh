#!/usr/bin/env bash
# Executes notebooks in real Jupyter with the tslab kernel and fails on any cell error.
# Usage: scripts/run-notebooks.sh [--in-place] [-j N] [notebook ...]
#   default: every notebooks/NN-*.ipynb, quick mode (AELAB_QUICK=1), outputs to a temp dir,
#            as many notebooks at once as there are cores (each kernel trains on one core).
#   --in-place: full mode, outputs written back into the notebooks (to commit them); one at a time
#            unless -j says otherwise, so timings printed in the notebooks are not shared-core ones.
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
jobs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --in-place) inplace=1; shift ;;
    -j) jobs="$2"; shift 2 ;;
    *) break ;;
  esac
done
if [ -z "$jobs" ]; then
  if [ $inplace = 1 ]; then jobs=1; else jobs=$(nproc 2>/dev/null || echo 1); fi
fi
if [ $# -eq 0 ]; then set -- notebooks/[0-9][0-9]-*.ipynb; fi

out=$(mktemp -d)
export out inplace
run_one() {
  local nb="$1" name start log
  name=$(basename "$nb" .ipynb)
  log="$out/$name.log"
  start=$(date +%s)
  if [ "$inplace" = 1 ]; then
    (cd notebooks && jupyter nbconvert --to notebook --execute --inplace \
      --ExecutePreprocessor.timeout=3600 "$name.ipynb") 2>"$log" || { echo "FAIL $nb"; tail -c 20000 "$log" | cut -c1-400 >&2; return 1; }
  else
    (cd notebooks && AELAB_QUICK=1 jupyter nbconvert --to notebook --execute \
      --ExecutePreprocessor.timeout=1200 --output-dir "$out" "$name.ipynb") 2>"$log" || { echo "FAIL $nb"; tail -c 20000 "$log" | cut -c1-400 >&2; return 1; }
  fi
  echo "ok   $nb ($(( $(date +%s) - start )) s)"
}
export -f run_one
total=$(date +%s)
# xargs exits non-zero if any notebook failed; every notebook still runs, so one report shows all failures.
status=0
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} || status=1
echo "$# notebooks in $(( $(date +%s) - total )) s, $jobs at a time"
exit $status
