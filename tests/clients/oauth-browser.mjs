// Signs in to a running clerk-mcp (built-in OAuth, on the sandbox) the way a user does: the
// official TypeScript SDK's OAuth client provider discovers the server, registers and sends the
// user to the consent page, which a real headless Chromium (Debian's, driven by playwright-core)
// reads, checks with axe-core (WCAG 2.1 AA rules) and clicks through. Then the SDK exchanges the code, calls tools, and refreshes. A second
// sign-in is denied in the browser and must come back as access_denied. Last, the official
// conformance suite's authorization-server scenarios run against the server, with the browser
// answering the consent page they open.
// Usage: node oauth-browser.mjs <mcp url> <artifact dir>
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, auth } from "@modelcontextprotocol/sdk/client/auth.js";

const [mcpUrl, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });

// The redirect target a native app would listen on: a loopback HTTP server.
const callbacks = [];
const callbackServer = createServer((request, response) => {
  const url = new URL(request.url, "http://127.0.0.1");
  if (url.pathname === "/callback") callbacks.push(url.searchParams);
  response.writeHead(200, { "content-type": "text/html" }).end("<h1>Back in the app</h1>");
});
await new Promise((resolve) => callbackServer.listen(0, "127.0.0.1", resolve));
const redirectUrl = `http://127.0.0.1:${callbackServer.address().port}/callback`;

// An in-memory OAuthClientProvider, as an app would keep one on disk.
class MemoryProvider {
  constructor(name) {
    this.name = name;
    this.stateValue = `state-${Math.random().toString(36).slice(2)}`;
  }
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return { client_name: this.name, redirect_uris: [redirectUrl], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  state() { return this.stateValue; }
  clientInformation() { return this.client; }
  saveClientInformation(client) { this.client = client; }
  tokens() { return this.savedTokens; }
  saveTokens(tokens) { this.savedTokens = tokens; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
}

const executablePath = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((path) => existsSync(path));
assert.ok(executablePath, "Chromium is installed (Debian package chromium)");
const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
let checks = 0;

/// Connecting without a token makes the SDK discover, register and ask for the consent page.
async function startSignIn(provider) {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await assert.rejects(new Client({ name: "oauth-browser", version: "1.0.0" }).connect(transport), UnauthorizedError);
  assert.ok(provider.authorizationUrl, "the SDK asked to open the consent page");
  assert.equal(provider.authorizationUrl.searchParams.get("code_challenge_method"), "S256");
  assert.equal(provider.authorizationUrl.searchParams.get("resource"), mcpUrl);
  return transport;
}

async function nextCallback(count) {
  for (let attempt = 0; attempt < 100 && callbacks.length < count; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(callbacks.length, count, "the browser came back to the app");
  return callbacks[count - 1];
}

// 1. Allow, with the sandbox team, on a phone-sized screen.
const provider = new MemoryProvider("TypeScript SDK in Chromium");
const transport = await startSignIn(provider);
// bypassCSP lets axe-core's script into the page, whose policy allows no script at all.
const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, bypassCSP: true });
const page = await context.newPage();
await page.goto(provider.authorizationUrl.href);
assert.equal(await page.title(), "Connect to Clerk Chat");
const text = await page.locator("main").innerText();
assert.match(text, /TypeScript SDK in Chromium/, "the page names the client");
assert.match(text, new RegExp(`127\\.0\\.0\\.1:${callbackServer.address().port}`), "the page names the redirect host");
assert.match(text, /Sandbox/, "the page says it is the sandbox");
assert.match(text, /Send an SMS or MMS/, "the page lists what the scopes allow");
await page.getByLabel("Your Clerk Chat API key").waitFor();
checks += 5;
await page.screenshot({ path: join(artifacts, "oauth-consent.png"), fullPage: true });
await page.addScriptTag({ path: createRequire(import.meta.url).resolve("axe-core/axe.min.js") });
const audit = await page.evaluate(() => globalThis.axe.run({ runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
const violations = audit.violations.map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(" ")).join(", ")})`);
assert.deepEqual(violations, [], "the consent page passes axe-core's WCAG 2.1 AA rules");
assert.ok(audit.passes.length > 10, "axe-core ran its rules");
checks += 1;
await page.getByRole("button", { name: "Allow, with the sandbox demo team" }).click();
const allowed = await nextCallback(1);
assert.equal(allowed.get("state"), provider.stateValue, "state round-trips");
assert.ok(allowed.get("code"), "a code came back");
checks += 2;
await transport.finishAuth(allowed.get("code"));
assert.ok(provider.tokens().access_token && provider.tokens().refresh_token, "the SDK holds both tokens");

const client = new Client({ name: "oauth-browser", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
const { tools } = await client.listTools();
const surface = JSON.parse(readFileSync(new URL("../../generated/tool-surface.json", import.meta.url), "utf8"));
assert.equal(tools.length, Object.keys(surface.tools).length, "every generated tool is listed");
const found = await client.callTool({ name: "search_contacts", arguments: { query: "Ada" } });
assert.notEqual(found.isError, true, JSON.stringify(found.content));
assert.equal(found.structuredContent.data[0].name, "Ada Lovelace");
await client.close();
checks += 3;

// 2. Refresh: with tokens held, auth() rotates them.
const before = provider.tokens();
assert.equal(await auth(provider, { serverUrl: mcpUrl }), "AUTHORIZED");
assert.notEqual(provider.tokens().access_token, before.access_token, "a new access token");
assert.notEqual(provider.tokens().refresh_token, before.refresh_token, "a rotated refresh token");
const refreshed = new Client({ name: "oauth-browser", version: "1.0.0" });
await refreshed.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
const again = await refreshed.callTool({ name: "get_messages", arguments: { limit: 1 } });
assert.notEqual(again.isError, true, JSON.stringify(again.content));
await refreshed.close();
checks += 3;

// 3. Deny: the app gets access_denied and its state back.
const denying = new MemoryProvider("Denied app");
await startSignIn(denying);
await page.goto(denying.authorizationUrl.href);
await page.getByRole("button", { name: "Deny" }).first().click();
const denied = await nextCallback(2);
assert.equal(denied.get("error"), "access_denied");
assert.equal(denied.get("state"), denying.stateValue);
checks += 2;

// 4. The conformance suite's authorization-server scenarios (metadata, authorization code
//    grant), with a client registered for the callback port the suite listens on.
// The issuer comes from the protected resource metadata, as a client finds it.
const resourceMetadata = await fetch(`${new URL(mcpUrl).origin}/.well-known/oauth-protected-resource/mcp`).then((response) => response.json());
assert.equal(resourceMetadata.resource, mcpUrl, "the metadata names the server as the client was given it");
const issuer = resourceMetadata.authorization_servers[0];
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
});
const registration = await fetch(`${issuer}/register`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ client_name: "MCP conformance suite", redirect_uris: [`http://127.0.0.1:${port}/callback`] }),
}).then((response) => response.json());
const suite = spawn("conformance", ["authorization", "--url", issuer, "--client-id", registration.client_id, "--resource", mcpUrl, "--port", String(port), "-o", join(artifacts, "conformance-authorization")], { stdio: ["ignore", "pipe", "inherit"] });
let suiteOutput = "";
let clicked = false;
suite.stdout.on("data", async (chunk) => {
  suiteOutput += chunk;
  const line = suiteOutput.split("\n").find((candidate) => candidate.startsWith(`${issuer}/authorize?`));
  if (line && !clicked) {
    clicked = true;
    await page.goto(line.trim());
    await page.getByRole("button", { name: "Allow, with the sandbox demo team" }).click();
  }
});
const suiteExit = await new Promise((resolve) => suite.on("close", resolve));
process.stdout.write(suiteOutput);
assert.ok(clicked, "the conformance suite asked for a sign-in");
assert.equal(suiteExit, 0, "the authorization-server conformance scenarios pass");
checks += 1;

await browser.close();
callbackServer.close();
console.log(`oauth-browser: ${checks} checks passed; screenshot in ${join(artifacts, "oauth-consent.png")}`);
