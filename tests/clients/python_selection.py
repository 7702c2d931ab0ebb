"""The official Python SDK client (PyPI `mcp`) against a clerk-mcp started with a choice of
tools (`--read-only --exclude-tools search_users`): it lists only what is served, and a send is
refused as an unknown tool is.
Usage: python python_selection.py <mcp url> <comma-separated expected tools>"""

import asyncio
import re
import sys

from mcp import Client


async def refusal(client: Client, name: str) -> str:
    """The answer to a call of `name`, without the name and any suggestion of a close one."""
    try:
        result = await client.call_tool(name, {"sender": "+12005550100"})
    except Exception as error:  # the SDK raises the protocol error
        text = str(error).replace(name, "NAME")
    else:
        assert result.is_error, f"{name} was served: {result}"
        text = " ".join(getattr(block, "text", "") for block in result.content).replace(name, "NAME")
    return re.sub(r"did you mean `[^`]*`\? ", "", text)


async def main(url: str, expected: list[str]) -> None:
    async with Client(url, mode="legacy") as client:
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        assert names == sorted(expected), names
        served = await client.call_tool("get_messages", {"limit": 1})
        assert not served.is_error, served.content
        assert await refusal(client, "send_message") == await refusal(client, "no_such_tool")
    print(f"python sdk tool selection: {len(names)} tools, a send refused as unknown")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2].split(",")))
