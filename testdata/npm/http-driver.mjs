// http-driver.mjs drives an MCP endpoint over HTTP (normally `tenuo-mcp
// serve` in front of a real server) with the official TypeScript SDK
// client, and prints one JSON object with what it saw. Go tests run it:
//
//   node http-driver.mjs <streamable|sse> URL SPEC.json
//
// SPEC is driver.mjs's warrant spec plus "headers" (sent on every request,
// e.g. X-Tenuo-Warrant or Authorization):
//   {"headers": {...}, "roots": [uri...], "listMeta": {...}, "waitFor": "tool",
//    "calls": [{"label", "name", "arguments", "meta", "progress"}],
//    "resources": bool, "prompts": bool}
// and prints the tools seen, each call's result or error (code, message,
// data), progress counts, sampling and roots round trips, the session id and
// the negotiated protocol version.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

if (process.argv.length !== 5) {
  console.error("usage: node http-driver.mjs <streamable|sse> URL SPEC.json");
  process.exit(2);
}
const [kind, url, specFile] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specFile, "utf8"));
const roots = spec.roots ?? ["file:///tmp/tenuo-driver-root"];
const SAMPLED = "sampled reply from the driver";

async function main() {
  const requestInit = { headers: spec.headers ?? {} };
  const transport = kind === "sse"
    ? new SSEClientTransport(new URL(url), { requestInit })
    : new StreamableHTTPClientTransport(new URL(url), { requestInit });
  const client = new Client(
    { name: "tenuo-http-driver", version: "0.0.1" },
    { capabilities: { sampling: {}, roots: { listChanged: true } } },
  );
  let listChanged = 0;
  let samplingRequests = 0;
  let rootsRequests = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => { listChanged++; });
  client.setRequestHandler(CreateMessageRequestSchema, async () => {
    samplingRequests++;
    return { role: "assistant", content: { type: "text", text: SAMPLED }, model: "driver", stopReason: "endTurn" };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    rootsRequests++;
    return { roots: roots.map((uri, i) => ({ uri, name: `driver root ${i}` })) };
  });
  await client.connect(transport);
  const out = { transport: kind, sessionId: transport.sessionId ?? null, protocolVersion: transport.protocolVersion ?? null };
  const list = async () => {
    const params = spec.listMeta ? { _meta: spec.listMeta } : undefined;
    return (await client.listTools(params)).tools.map((t) => t.name).sort();
  };
  let names = await list();
  for (let i = 0; spec.waitFor && i < 50 && !names.includes(spec.waitFor); i++) {
    // server-everything registers some tools after initialization and says
    // so with list_changed; poll the list until it shows them.
    await new Promise((r) => setTimeout(r, 100));
    names = await list();
  }
  out.tools = names;
  out.calls = {};
  for (const c of spec.calls ?? []) {
    const params = { name: c.name, arguments: c.arguments ?? {} };
    if (c.meta) params._meta = c.meta;
    let progress = 0;
    const options = c.progress ? { onprogress: () => { progress++; } } : undefined;
    try {
      const r = await client.callTool(params, undefined, options);
      const text = (r.content ?? []).filter((x) => x.type === "text").map((x) => x.text).join("\n");
      out.calls[c.label] = { text, isError: r.isError ?? false, progress };
    } catch (e) {
      out.calls[c.label] = { code: e.code ?? null, message: e.message, data: e.data ?? null, progress };
    }
  }
  if (spec.resources) {
    const resources = await client.listResources();
    out.resources = resources.resources.length;
    if (resources.resources.length > 0) {
      const r = await client.readResource({ uri: resources.resources[0].uri });
      out.resourceRead = r.contents.length;
    }
  }
  if (spec.prompts) {
    out.prompts = (await client.listPrompts()).prompts.map((p) => p.name).sort();
    const p = await client.getPrompt({ name: "simple-prompt", arguments: {} });
    out.promptMessages = p.messages.length;
  }
  out.ping = await client.ping().then(() => true, () => false);
  out.listChanged = listChanged;
  out.samplingRequests = samplingRequests;
  out.rootsRequests = rootsRequests;
  if (kind !== "sse") {
    await transport.terminateSession();
  }
  await client.close();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error("http-driver:", e?.stack ?? e);
  process.exit(1);
});
