import type { Key } from "ink";
import { describe, expect, it } from "vitest";
import { keyActions } from "./keys.js";

const none: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

describe("keyActions", () => {
  it("counts every key of a burst read at once, in order", () => {
    expect(keyActions("kkk", none)).toEqual(["up", "up", "up"]);
    expect(keyActions("jk\rjc G", none)).toEqual(["down", "up", "toggle", "down", "copy", "toggle", "last"]);
  });

  it("ignores keys it has no use for and stops at q", () => {
    expect(keyActions("xjy", none)).toEqual(["down"]);
    expect(keyActions("jqj", none)).toEqual(["down", "quit"]);
  });

  it("takes arrows, Home/End, Enter and Esc from Ink's parsed key", () => {
    expect(keyActions("", { ...none, downArrow: true })).toEqual(["down"]);
    expect(keyActions("", { ...none, upArrow: true })).toEqual(["up"]);
    expect(keyActions("", { ...none, home: true })).toEqual(["first"]);
    expect(keyActions("", { ...none, end: true })).toEqual(["last"]);
    expect(keyActions("\r", { ...none, return: true })).toEqual(["toggle"]);
    expect(keyActions("", { ...none, escape: true })).toEqual(["quit"]);
  });
});
