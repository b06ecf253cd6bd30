import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { NftNetlinkError } from "./errors.js";
import { encodeNftQuery } from "./query.js";
import { NetlinkReplyReader } from "./reader.js";
import { message } from "./testdata/build.js";
import { CAPTURES, loadCapture } from "./testdata/fixtures.js";

function rawReply(file: string, chain: string): { bytes: Uint8Array; seq: number } {
  const raw = JSON.parse(
    readFileSync(new URL(`./testdata/${file}.netlink.json`, import.meta.url), "utf8"),
  ) as {
    chains: { name: string; seq: number; netlink: string }[];
  };
  const c = raw.chains.find((x) => x.name === chain);
  if (!c) throw new Error(chain);
  return { bytes: new Uint8Array(Buffer.from(c.netlink, "base64")), seq: c.seq };
}

function errorMessage(seq: number, errno: number): Uint8Array {
  const payload = new Uint8Array(20);
  new DataView(payload.buffer).setInt32(0, -errno, true);
  return message(2, 0x100, seq, payload);
}

describe("NetlinkReplyReader", () => {
  it("reads the same messages whichever byte a real reply is split at", () => {
    const { bytes, seq } = rawReply("golden-kube-proxy", "services");
    const whole = new NetlinkReplyReader(seq);
    whole.push(bytes);
    expect(whole.done).toBe(true);
    expect(whole.messages.length).toBe(2);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = new NetlinkReplyReader(seq);
      r.push(bytes.subarray(0, cut));
      r.push(bytes.subarray(cut));
      expect(r.done).toBe(true);
      expect(r.messages).toEqual(whole.messages);
    }
  });

  it("reads a reply fed one byte at a time", () => {
    const { bytes, seq } = rawReply("k3s-riset-kube-proxy", "services");
    const r = new NetlinkReplyReader(seq);
    for (const b of bytes) r.push(Uint8Array.of(b));
    expect(r.done).toBe(true);
    expect(r.messages.length).toBe(
      loadCapture("k3s-riset-kube-proxy").chains.find((c) => c.name === "services")?.messages.length,
    );
  });

  it("is not done before NLMSG_DONE arrives", () => {
    const { bytes, seq } = rawReply("golden-kube-proxy", "services");
    const r = new NetlinkReplyReader(seq);
    r.push(bytes.subarray(0, bytes.length - 20));
    expect(r.done).toBe(false);
  });

  it("reports ENOENT (no such chain) as errno 2 and ends the reply", () => {
    const r = new NetlinkReplyReader(9);
    r.push(errorMessage(9, 2));
    expect(r.done).toBe(true);
    expect(r.errno).toBe(2);
    expect(r.messages).toEqual([]);
  });

  it("reports a dump's error carried in NLMSG_DONE", () => {
    const r = new NetlinkReplyReader(3);
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setInt32(0, -4, true);
    r.push(message(3, 2, 3, payload));
    expect([r.done, r.errno]).toEqual([true, 4]);
  });

  it("ends a non-dump reply at its ack (error 0) without an errno", () => {
    const r = new NetlinkReplyReader(4);
    r.push(message((10 << 8) | 9, 0, 4, Uint8Array.of(2, 0, 0, 0)));
    r.push(errorMessage(4, 0));
    expect(r.done).toBe(true);
    expect(r.errno).toBeUndefined();
    expect(r.messages.length).toBe(1);
  });

  it("ignores messages of other sequence numbers and an ack after DONE", () => {
    const r = new NetlinkReplyReader(5);
    r.push(errorMessage(4, 0)); // a late ack of the previous request
    r.push(message((10 << 8) | 6, 2, 5, Uint8Array.of(2, 0, 0, 0)));
    r.push(message(3, 2, 5, new Uint8Array(4)));
    r.push(errorMessage(5, 0));
    expect(r.done).toBe(true);
    expect(r.errno).toBeUndefined();
    expect(r.messages.length).toBe(1);
  });

  it("throws NftNetlinkError on a length below the header size", () => {
    const bad = message(3, 0, 1, new Uint8Array(4));
    new DataView(bad.buffer).setUint32(0, 8, true);
    expect(() => new NetlinkReplyReader(1).push(bad)).toThrow(NftNetlinkError);
  });

  it("throws NftNetlinkError on an absurd length", () => {
    const bad = message(3, 0, 1, new Uint8Array(4));
    new DataView(bad.buffer).setUint32(0, 0xfffffff0, true);
    expect(() => new NetlinkReplyReader(1).push(bad)).toThrow(NftNetlinkError);
  });

  it("all captured replies are complete", () => {
    for (const file of CAPTURES) expect(loadCapture(file).chains.length).toBeGreaterThan(0);
  });
});

describe("encodeNftQuery", () => {
  it("encodes a GETRULE dump of one chain", () => {
    const bytes = encodeNftQuery({ kind: "rules", family: "ip", table: "kube-proxy", chain: "services" }, 1);
    expect(Buffer.from(bytes).toString("hex")).toBe(
      [
        "34000000", // nlmsg_len 52
        "070a", // (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE
        "0503", // NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
        "01000000", // seq
        "00000000", // pid
        "02000000", // nfgenmsg: AF_INET, version 0, res_id 0
        "0f000100",
        "6b7562652d70726f787900",
        "00", // NFTA_RULE_TABLE "kube-proxy\0" + pad
        "0d000200",
        "736572766963657300",
        "000000", // NFTA_RULE_CHAIN "services\0" + pad
      ].join(""),
    );
  });

  it("encodes a GETSET of one set without NLM_F_DUMP, and GETSETELEM with it", () => {
    const set = encodeNftQuery({ kind: "set", family: "ip6", table: "t", set: "s" }, 7);
    const v = new DataView(set.buffer);
    expect([v.getUint16(4, true), v.getUint16(6, true), v.getUint32(8, true), set[16]]).toEqual([
      0x0a0a, 0x5, 7, 10,
    ]);
    const elems = encodeNftQuery({ kind: "elements", family: "inet", table: "t", set: "s" }, 8);
    const e = new DataView(elems.buffer);
    expect([e.getUint16(4, true), e.getUint16(6, true), elems[16]]).toEqual([0x0a0d, 0x305, 1]);
  });
});
