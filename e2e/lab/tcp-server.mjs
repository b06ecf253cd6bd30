// Tiny bounded TCP server for the kernel lab. Runs inside a pod netns (started with nsenter).
// Usage: node tcp-server.mjs <port> <lifetimeMs> <maxConnections> [identity]
// Prints "listening" once bound, answers each line with "pong\n" (or "pong <identity>\n", so a
// client reaching a Service learns which endpoint answered), and on exit prints
// {"accepted":N} as JSON. Exits after maxConnections, after lifetimeMs, or on SIGTERM.
import { createServer } from "node:net";

const port = Number(process.argv[2] ?? "8080");
const lifetimeMs = Math.min(Number(process.argv[3] ?? "30000"), 120_000);
const max = Number(process.argv[4] ?? "100");
const identity = process.argv[5];
let accepted = 0;
let done = false;

const server = createServer((sock) => {
  accepted++;
  sock.setTimeout(2000, () => sock.destroy());
  sock.on("data", () => sock.end(identity ? `pong ${identity}\n` : "pong\n"));
  sock.on("error", () => {});
  if (accepted >= max) finish();
});

function finish() {
  if (done) return;
  done = true;
  setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ accepted })}\n`, () => process.exit(0));
  }, 200);
  server.close();
}

server.listen(port, "0.0.0.0", () => process.stdout.write("listening\n"));
server.on("error", (e) => {
  process.stderr.write(`tcp-server: ${e.message}\n`);
  process.exit(2);
});
setTimeout(finish, lifetimeMs).unref();
process.on("SIGTERM", finish);
