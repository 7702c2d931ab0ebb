#!/usr/bin/env bash
# Runs schemathesis (from PyPI, in a private venv) against a freshly started sandbox with the
# spec, checking status codes, response schemas, content types, server errors and that
# schema-violating requests are refused. Exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
work="$root/target/schemathesis"
mkdir -p "$work"
venv="$work/venv"
python_venv "$venv" "schemathesis==4.32.5"
sandbox=$(binary_under_test CLERK_SANDBOX_BIN clerk-sandbox clerk-sandbox)
rm -f "$work"/sandbox.db*
"$sandbox" --database "$work/sandbox.db" --bind 127.0.0.1:0 --rate-limit 0 >"$work/sandbox.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "API key" "$work/sandbox.log" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^Clerk Chat sandbox listening on //p' "$work/sandbox.log")
key=$(sed -n 's/.*API key (shown once, keep it): //p' "$work/sandbox.log")
[ -n "$url" ] && [ -n "$key" ] || { cat "$work/sandbox.log"; echo "the sandbox did not start" >&2; exit 1; }

# Run from the work folder: schemathesis keeps a cache in its working directory.
cd "$work"
"$venv/bin/schemathesis" run "$root/openapi/clerk-chat.yaml" --url "$url" -H "apiKey: $key" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,negative_data_rejection \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-60}" --seed "${SCHEMATHESIS_SEED:-20261125}" --no-color
