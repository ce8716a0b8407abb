#!/usr/bin/env bash
# An overlay venv for benchmarks/bench_dedup.py's datatrove anchor: datatrove 0.10's MinHash hashes
# str with xxhash, which xxhash >= 4 refuses ("Strings must be encoded before hashing"), and its
# word splitting needs spaCy. The overlay holds only xxhash<4 and spaCy; everything else comes
# from the project venv, whose site-packages it puts on its path.
set -euo pipefail
PROJECT_VENV=${PROJECT_VENV:-$(cd "$(dirname "$0")/.." && pwd)/.venv}
BENCH_VENV=${BENCH_VENV:-/tmp/curate-bench-venv}
PYTHON="$PROJECT_VENV/bin/python"
SITE=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
BASE=$("$PYTHON" -c 'import sys; print(sys.base_prefix)')
"$BASE/bin/python3" -m venv "$BENCH_VENV"
BENCH_SITE=$("$BENCH_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$SITE" > "$BENCH_SITE/project-venv.pth"
"$BENCH_VENV/bin/pip" install -q "xxhash>=3,<4" "spacy>=3.7"
echo "$BENCH_VENV"
