"""A scripted session of the official Python SDK client (PyPI `mcp`) against a running clerk-mcp:
list the tools, call every tool, and check that a bad call comes back as a tool error; then the
safety of sends: a retry with an idempotency key, and a campaign confirmed, declined and cancelled
through the elicitation callback.
Usage: python python_session.py <mcp url> <sender number>"""

import asyncio
import json
import pathlib
import sys
import time

from mcp import Client, types


async def main(url: str, sender: str) -> None:
    passed = 0
    async with Client(url, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        names = {tool.name for tool in tools}
        assert {"send_message", "get_messages", "create_contact", "update_contact", "delete_contact", "create_contacts_batch", "create_campaign"} <= names, names
        # Every tool the generator wrote, and no other.
        surface = json.loads((pathlib.Path(__file__).parents[2] / "generated" / "tool-surface.json").read_text())
        assert names == set(surface["tools"]), names ^ set(surface["tools"])

        async def call(name: str, arguments: dict) -> dict:
            nonlocal passed
            result = await client.call_tool(name, arguments)
            assert not result.is_error, f"{name} failed: {result.content}"
            assert isinstance(result.structured_content, dict), name
            passed += 1
            return result.structured_content

        sent = await call("send_message", {"sender": sender, "recipients": ["+15559876543"], "body": "Hello from Python"})
        assert sent["data"]["body"] == "Hello from Python"
        assert (await call("get_messages", {"limit": 5}))["total"] >= 1
        # A client that shows the model only `content` still sees the page: every message id
        # and text is in the text block, not just a summary.
        for number in range(12):
            await call("send_message", {"sender": sender, "recipients": ["+15559876543"], "body": f"Page filler {number} " + "z" * 150})
        page = await client.call_tool("get_messages", {"limit": 50})
        text = "".join(block.text for block in page.content if block.type == "text")
        messages = page.structured_content["data"]
        assert len(json.dumps(page.structured_content)) > 2048, "a page large enough to be rendered, not copied"
        for message in messages:
            assert str(message["id"]) in text and message["body"].replace("\n", "\\n")[:40] in text, (message["id"], text[:400])
        passed += 1
        contact = await call("create_contact", {"name": "Py Contact", "phone": "+15551110003"})
        await call("update_contact", {"contact_id": contact["data"]["id"], "name": "Py Contact 2"})
        await call("search_contacts", {"phone": "+15551110003"})
        await call("delete_contact", {"contact_id": contact["data"]["id"]})
        await call("create_contacts_batch", {"contacts": [{"name": "Py One"}]})
        campaign = await call("create_campaign", {"sender": sender, "list_name": "Demo customers", "body": "Py campaign"})
        assert campaign["data"]["recipientCount"] == 4
        await call("add_user", {"email": f"py-{time.time_ns()}@example.com"})
        await call("search_users", {})

        bad = await client.call_tool("get_messages", {"limit": 51})
        assert bad.is_error and "limit is 51, more than the maximum 50" in bad.content[0].text, bad.content
        passed += 1

        keyed = {"sender": sender, "recipients": ["+15559876543"], "body": "Py keyed send", "idempotency_key": f"py-{time.time_ns()}"}
        first = await call("send_message", keyed)
        assert await call("send_message", keyed) == first, "a retry with the key answers the first result"

    for answer in ("accept", "decline", "cancel"):
        questions = []

        async def confirm(context, params: types.ElicitRequestParams) -> types.ElicitResult:
            questions.append(params.message)
            if answer == "accept":
                return types.ElicitResult(action="accept", content={"send": True})
            return types.ElicitResult(action=answer)

        async with Client(url, mode="legacy", elicitation_callback=confirm) as client:
            body = f"Py confirmed ({answer})"
            result = await client.call_tool("create_campaign", {"sender": sender, "list_name": "Demo customers", "body": body})
            assert len(questions) == 1 and f'Text: "{body}"' in questions[0], questions
            if answer == "accept":
                assert not result.is_error and result.structured_content["data"]["recipientCount"] == 4, result.content
            else:
                word = "declined" if answer == "decline" else "cancelled"
                assert result.is_error and f"nothing was sent: the user {word}" in result.content[0].text, result.content
            passed += 1
    print(f"python sdk session: {passed} passed, 0 failed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
