/** Flag definitions shared by several commands, with commander's `.choices()` for enumerations. */
import { InvalidArgumentError, Option } from "commander";

/** Output formats of commands that print a trace. "tui" needs a terminal. */
export const TRACE_OUTPUTS = ["tui", "text", "json", "yaml", "mermaid"] as const;
/** A trace output format. */
export type TraceOutput = (typeof TRACE_OUTPUTS)[number];

/** Output formats of `pod`. */
export const POD_OUTPUTS = ["text", "json", "yaml"] as const;
/** A `pod` output format. */
export type PodOutput = (typeof POD_OUTPUTS)[number];

/** Protocols a trace can carry. */
export const PROTOCOLS = ["tcp", "udp", "icmp"] as const;

/** `-o, --output <format>` limited to `formats`. */
export function outputOption(formats: readonly string[], defaultHelp: string): Option {
  return new Option("-o, --output <format>", `output format (default: ${defaultHelp})`).choices(formats);
}

/** `--protocol <tcp|udp|icmp>`, default tcp. */
export function protocolOption(): Option {
  return new Option("--protocol <protocol>", "protocol of the traced packet")
    .choices(PROTOCOLS)
    .default("tcp");
}

/** Parses a TCP/UDP port 1..65535 for commander. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new InvalidArgumentError("must be a port number between 1 and 65535.");
  }
  return n;
}

/** `--port <n>`. */
export function portOption(): Option {
  return new Option("--port <port>", "destination port (tcp/udp)").argParser(parsePort);
}

/** Parses `--endpoint`: an index into the Service's endpoints, or "ip:port". */
export function parseEndpoint(value: string): number | string {
  if (/^\d+$/.test(value)) return Number(value);
  if (/^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/.test(value) || /^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(value))
    return value;
  throw new InvalidArgumentError('must be an endpoint index (0, 1, …) or "ip:port", e.g. 10.244.1.3:8080.');
}

/** `-v, --verbose`: evidence lines and commands in text output. */
export function verboseOption(): Option {
  return new Option("-v, --verbose", "show each hop's evidence and the command that shows it by hand");
}
