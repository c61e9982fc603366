// A deliberately lenient MCP-style tool server built on the generic
// json-rpc-2.0 library, for the bypass tests: it executes notifications (as
// JSON-RPC 2.0 says servers do), executes every member of a batch, and
// dispatches on the method after trimming, removing control and format
// characters, NFKC and lower-casing it — the kind of server a security proxy
// must hold for. Each tools/call it executes is appended, as one JSON line,
// to the file named by its first argument.
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { JSONRPCServer } from "json-rpc-2.0";

const log = process.argv[2];
const server = new JSONRPCServer();

// lenient rewrites a request's method as a forgiving dispatcher reads it.
const lenient = (m) => {
  if (m && typeof m === "object" && typeof m.method === "string") {
    m.method = m.method.replace(/[\p{Cc}\p{Cf}\s]/gu, "").normalize("NFKC").toLowerCase();
  }
  return m;
};

server.addMethod("initialize", (params) => ({
  protocolVersion: params?.protocolVersion ?? "2025-06-18",
  capabilities: { tools: {} },
  serverInfo: { name: "lenient-jsonrpc", version: "1" },
}));
server.addMethod("notifications/initialized", () => null);
server.addMethod("ping", () => ({}));
server.addMethod("tools/list", () => ({
  tools: [
    { name: "echo", inputSchema: { type: "object" } },
    { name: "write_file", inputSchema: { type: "object" } },
  ],
}));
server.addMethod("tools/call", (params) => {
  appendFileSync(log, JSON.stringify({ name: params?.name, arguments: params?.arguments ?? null }) + "\n");
  return { content: [{ type: "text", text: "ran " + params?.name }] };
});

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", async (line) => {
  if (line.trim() === "") return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }) + "\n");
    return;
  }
  const out = await server.receive(Array.isArray(msg) ? msg.map(lenient) : lenient(msg));
  if (out !== null && !(Array.isArray(out) && out.length === 0)) {
    process.stdout.write(JSON.stringify(out) + "\n");
  }
});
