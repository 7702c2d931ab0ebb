#!/usr/bin/env bash
# Installs what the MCP benchmark's peer rows need, into target/peers: rmcp-openapi-server
# (cargo install), FastMCP and tiktoken (pip, in a virtual environment), and the tiktoken
# encodings, which tiktoken would download from a host this machine cannot reach: they are
# taken from the litellm wheel on PyPI, which ships them. Idempotent; prints nothing on success.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="$root/target/peers"
mkdir -p "$peers"

if [ ! -x "$peers/bin/rmcp-openapi-server" ]; then
    cargo install --quiet --locked --root "$peers" --version 0.32.1 rmcp-openapi-server
fi

if [ ! -x "$peers/venv/bin/python" ] || ! "$peers/venv/bin/python" -c "import fastmcp, tiktoken" 2>/dev/null; then
    python3 -m venv "$peers/venv"
    "$peers/venv/bin/pip" install --quiet --disable-pip-version-check fastmcp==4.2.3 tiktoken
fi

# tiktoken looks its encodings up in TIKTOKEN_CACHE_DIR under the SHA-1 of their URL.
cl100k=9b5ad71b2ce5302211f9c61530b329a4922fc6a4
o200k=fb374d419588a4632f3f557e76b4b70aebbca790
if [ ! -s "$peers/tiktoken-cache/$o200k" ] || [ ! -s "$peers/tiktoken-cache/$cl100k" ]; then
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    "$peers/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --dest "$download" litellm
    mkdir -p "$peers/tiktoken-cache"
    "$peers/venv/bin/python" - "$download" "$peers/tiktoken-cache" "$cl100k" "$o200k" <<'PYTHON'
import glob, sys, zipfile
download, cache, *names = sys.argv[1:]
with zipfile.ZipFile(glob.glob(f"{download}/litellm-*.whl")[0]) as wheel:
    for name in names:
        with open(f"{cache}/{name}", "wb") as out:
            out.write(wheel.read(f"litellm/litellm_core_utils/tokenizers/{name}"))
PYTHON
fi
