// Tiny bounded TCP client for the kernel lab. Runs inside a pod netns (started with nsenter).
// Usage: node tcp-client.mjs <host> <port> <connections> <timeoutMs>
// Opens the connections one after the other, sends "ping\n", waits for "pong", and prints
// {"connected":N,"failed":M,"errors":[…],"answeredBy":{identity:count}} as JSON (identity: what a
// server started with one put after "pong").
import { connect } from "node:net";

const host = process.argv[2] ?? "";
const port = Number(process.argv[3] ?? "8080");
const connections = Math.min(Number(process.argv[4] ?? "1"), 1000);
const timeoutMs = Math.min(Number(process.argv[5] ?? "1000"), 10_000);

function once() {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let settled = false;
    let who;
    const end = (ok, err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok, err, who });
    };
    const timer = setTimeout(() => end(false, "timeout"), timeoutMs);
    sock.on("connect", () => sock.write("ping\n"));
    sock.on("data", (d) => {
      const text = d.toString();
      who = text.startsWith("pong ") ? text.slice(5).trim() : undefined;
      end(text.startsWith("pong"), undefined);
    });
    sock.on("error", (e) => end(false, e.code ?? e.message));
  });
}

let connected = 0;
let failed = 0;
const errors = new Set();
const answeredBy = {};
for (let i = 0; i < connections; i++) {
  const r = await once();
  if (r.ok) {
    connected++;
    if (r.who) answeredBy[r.who] = (answeredBy[r.who] ?? 0) + 1;
  } else {
    failed++;
    if (r.err) errors.add(r.err);
  }
}
process.stdout.write(`${JSON.stringify({ connected, failed, errors: [...errors], answeredBy })}\n`);
