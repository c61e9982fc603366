// driver.mjs drives an MCP server (normally tenuo-mcp's proxy in front of a
// real server) with the official TypeScript SDK client, and prints one JSON
// object with what it saw. Go tests run it:
//
//   node driver.mjs <scenario> -- <server command> [args...]
//
// Scenarios:
//   everything  against @modelcontextprotocol/server-everything: tools list
//               (after list_changed), echo, a denied tool (expected to be
//               get-sum), progress notifications, a sampling round trip,
//               roots, resources, prompts, and the server's environment.
//   warrant     node driver.mjs warrant SPEC.json -- <command> [args...]
//               runs the calls of a JSON spec (pre-signed by the Go test, with
//               their _meta) through client.callTool and client.listTools:
//               {"roots": [uri...], "listMeta": {...}, "waitFor": "tool",
//                "calls": [{"label", "name", "arguments", "meta", "progress"}],
//                "resources": bool, "prompts": bool}
//               and prints the tools seen, each call's result or error
//               (code, message, data), progress counts, resources and prompts.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const sep = process.argv.indexOf("--");
if (sep < 3 || sep === process.argv.length - 1) {
  console.error("usage: node driver.mjs <scenario> -- <command> [args...]");
  process.exit(2);
}
const scenario = process.argv[2];
const [command, ...args] = process.argv.slice(sep + 1);

const ROOT_URI = "file:///tmp/tenuo-driver-root";
const spec = scenario === "warrant" ? JSON.parse(readFileSync(process.argv[3], "utf8")) : {};
const roots = spec.roots ?? [ROOT_URI];
const SAMPLED = "sampled reply from the driver";

async function main() {
  const transport = new StdioClientTransport({
    command,
    args,
    env: { ...process.env }, // the SDK passes only a small whitelist otherwise
    stderr: "inherit",
  });
  const client = new Client(
    { name: "tenuo-driver", version: "0.0.1" },
    { capabilities: { sampling: {}, roots: { listChanged: true } } },
  );
  let listChanged = 0;
  let samplingRequests = 0;
  let rootsRequests = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged++;
  });
  client.setRequestHandler(CreateMessageRequestSchema, async () => {
    samplingRequests++;
    return { role: "assistant", content: { type: "text", text: SAMPLED }, model: "driver", stopReason: "endTurn" };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    rootsRequests++;
    return { roots: roots.map((uri, i) => ({ uri, name: `driver root ${i}` })) };
  });
  await client.connect(transport);
  const out = { scenario, protocolVersion: transport._protocolVersion ?? null };
  switch (scenario) {
    case "everything":
      await everything(client, out);
      break;
    case "warrant":
      await warrant(client, out);
      break;
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
  out.listChanged = listChanged;
  out.samplingRequests = samplingRequests;
  out.rootsRequests = rootsRequests;
  await client.close();
  console.log(JSON.stringify(out));
}

async function toolNames(client) {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

function text(result) {
  return (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

async function everything(client, out) {
  // Tools that depend on the client's capabilities are registered after
  // initialization, announced with notifications/tools/list_changed.
  let names = await toolNames(client);
  for (let i = 0; i < 50 && !names.includes("trigger-sampling-request"); i++) {
    await new Promise((r) => setTimeout(r, 100));
    names = await toolNames(client);
  }
  out.tools = names;
  out.echo = text(await client.callTool({ name: "echo", arguments: { message: "hello through the proxy" } }));
  try {
    const r = await client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } });
    out.denied = { result: text(r), isError: r.isError ?? false };
  } catch (e) {
    out.denied = { code: e.code, message: e.message };
  }
  let progress = 0;
  const long = await client.callTool(
    { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
    undefined,
    { onprogress: () => { progress++; } },
  );
  out.longRunning = text(long);
  out.progress = progress;
  out.sampling = text(await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 5 } }));
  out.roots = text(await client.callTool({ name: "get-roots-list", arguments: {} }));
  const resources = await client.listResources();
  out.resources = resources.resources.length;
  if (resources.resources.length > 0) {
    const r = await client.readResource({ uri: resources.resources[0].uri });
    out.resourceRead = r.contents.length;
  }
  const prompts = await client.listPrompts();
  out.prompts = prompts.prompts.map((p) => p.name).sort();
  const p = await client.getPrompt({ name: "simple-prompt", arguments: {} }).catch((e) => ({ messages: [], error: e.message }));
  out.promptMessages = p.messages.length;
  out.env = text(await client.callTool({ name: "get-env", arguments: {} }));
  out.ping = await client.ping().then(() => true, () => false);
}

// warrant runs the spec's pre-signed calls; a call's failure is recorded, not
// thrown, so that one output shows every outcome.
async function warrant(client, out) {
  const list = async () => {
    const params = spec.listMeta ? { _meta: spec.listMeta } : undefined;
    return (await client.listTools(params)).tools.map((t) => t.name).sort();
  };
  let names = await list();
  for (let i = 0; spec.waitFor && i < 50 && !names.includes(spec.waitFor); i++) {
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
      out.calls[c.label] = { text: text(r), isError: r.isError ?? false, progress };
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
}

main().catch((e) => {
  console.error("driver:", e?.stack ?? e);
  process.exit(1);
});
