"""The MCP benchmark's Python side: FastMCP's `from_openapi` server on Clerk Chat's spec, and
token counts of texts with a real tokenizer (tiktoken's o200k_base, GPT-4o's).

  peers.py fastmcp SPEC_YAML BASE_URL API_KEY PORT   serves MCP at http://127.0.0.1:PORT/mcp
  peers.py json SPEC_YAML OUT_JSON                    the spec as JSON, for rmcp-openapi-server,
                                                      which reads only JSON
  peers.py tokens                                     reads {"name": "text", ...} on stdin,
                                                      prints {"name": tokens, ...}
"""

import json
import sys


def serve_fastmcp(spec_path, base_url, api_key, port):
    import httpx2
    import yaml
    from fastmcp import FastMCP

    with open(spec_path) as spec_file:
        spec = yaml.safe_load(spec_file)
    client = httpx2.AsyncClient(base_url=base_url, headers={"apiKey": api_key}, timeout=30)
    server = FastMCP.from_openapi(openapi_spec=spec, client=client, name="clerk")
    server.run(transport="http", host="127.0.0.1", port=int(port), show_banner=False, log_level="warning")


def spec_as_json(spec_path, out_path):
    import yaml

    with open(spec_path) as spec_file, open(out_path, "w") as out:
        json.dump(yaml.safe_load(spec_file), out)


def count_tokens():
    import tiktoken

    encoding = tiktoken.get_encoding("o200k_base")
    texts = json.load(sys.stdin)
    print(json.dumps({name: len(encoding.encode(text)) for name, text in texts.items()}))


if __name__ == "__main__":
    if sys.argv[1] == "fastmcp":
        serve_fastmcp(*sys.argv[2:6])
    elif sys.argv[1] == "json":
        spec_as_json(*sys.argv[2:4])
    elif sys.argv[1] == "tokens":
        count_tokens()
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}: use fastmcp, json or tokens")
