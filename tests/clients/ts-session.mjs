// A scripted session of the official TypeScript SDK client against a running clerk-mcp:
// list the tools, call every tool, and check a bad call comes back as a tool error; then the
// safety of sends: a retry with an idempotency key, and a campaign confirmed, declined and
// cancelled by a client that declares elicitation.
// Usage: node ts-session.mjs <mcp url> <sender number>
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, sender] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url));
const client = new Client({ name: "ts-session", version: "1.0.0" });
await client.connect(transport);
assert.equal(client.getServerVersion().name, "clerk");

const { tools } = await client.listTools();
const names = tools.map((tool) => tool.name).sort();
for (const seed of ["send_message", "get_messages", "create_contact", "update_contact", "delete_contact", "create_contacts_batch", "create_campaign"]) {
  assert.ok(names.includes(seed), `tool ${seed} is listed`);
}
// Every tool the generator wrote, and no other.
const surface = JSON.parse(readFileSync(new URL("../../generated/tool-surface.json", import.meta.url), "utf8"));
assert.deepEqual(names, Object.keys(surface.tools).sort());

let passed = 0;
async function call(name, args) {
  const result = await client.callTool({ name, arguments: args });
  assert.notEqual(result.isError, true, `${name} failed: ${JSON.stringify(result.content)}`);
  assert.equal(typeof result.structuredContent, "object", `${name} has structuredContent`);
  passed += 1;
  return result.structuredContent;
}

const sent = await call("send_message", { sender, recipients: ["+15559876543"], body: "Hello from the TypeScript SDK" });
assert.equal(sent.data.body, "Hello from the TypeScript SDK");
const messages = await call("get_messages", { limit: 5 });
assert.ok(messages.total >= 1);
const contact = await call("create_contact", { name: "TS Contact", phone: "+15551110001", public: true });
await call("update_contact", { contact_id: contact.data.id, email: "ts@example.com" });
await call("search_contacts", { query: "TS Contact" });
await call("delete_contact", { contact_id: contact.data.id });
const batch = await call("create_contacts_batch", { contacts: [{ name: "TS One" }, { name: "TS Two", phone: "+15551110002" }] });
assert.equal(batch.data.length, 2);
const campaign = await call("create_campaign", { sender, list_name: "Demo customers", body: "TS campaign" });
assert.equal(campaign.data.recipientCount, 4);
await call("add_user", { email: `ts-${Date.now()}@example.com`, role: "member" });
await call("search_users", {});

const bad = await client.callTool({ name: "send_message", arguments: { sender, recipients: ["555"], body: "x" } });
assert.equal(bad.isError, true);
assert.match(bad.content[0].text, /recipients\[0\] "555" is not in the expected format/);
passed += 1;

await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), /-32602|not found/i);
passed += 1;

const keyed = { sender, recipients: ["+15559876543"], body: "TS keyed send", idempotency_key: `ts-${Date.now()}` };
const first = await call("send_message", keyed);
const retry = await call("send_message", keyed);
assert.deepEqual(retry, first, "a retry with the key answers the first result");
assert.deepEqual(first.cost, { segments: 1, encoding: "GSM-7", characters: 13, recipients: 1 });

await transport.terminateSession();
await client.close();

// A client that can ask its user: the server asks before a campaign goes out.
for (const answer of ["accept", "decline", "cancel"]) {
  const asking = new Client({ name: "ts-asking", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } } });
  const questions = [];
  asking.setRequestHandler(ElicitRequestSchema, async (request) => {
    questions.push(request.params);
    return answer === "accept" ? { action: "accept", content: { send: true } } : { action: answer };
  });
  const askingTransport = new StreamableHTTPClientTransport(new URL(url));
  await asking.connect(askingTransport);
  const result = await asking.callTool({ name: "create_campaign", arguments: { sender, list_name: "Demo customers", body: `TS confirmed (${answer})` } });
  assert.equal(questions.length, 1, "the user was asked once");
  assert.match(questions[0].message, /To: every contact of "Demo customers"/);
  assert.match(questions[0].message, new RegExp(`Text: "TS confirmed \\(${answer}\\)"`));
  if (answer === "accept") {
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    assert.equal(result.structuredContent.data.recipientCount, 4);
  } else {
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, new RegExp(`nothing was sent: the user ${answer === "decline" ? "declined" : "cancelled"}`));
  }
  passed += 1;
  await askingTransport.terminateSession();
  await asking.close();
}
console.log(`typescript sdk session: ${passed} passed, 0 failed`);
