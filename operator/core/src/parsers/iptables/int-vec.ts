/** A growable vector of 32-bit integers: offsets and line numbers without one JS object per rule. */
export class IntVec {
  private buf: Int32Array;
  length = 0;

  constructor(capacity = 64) {
    this.buf = new Int32Array(capacity);
  }

  push(v: number): number {
    if (this.length === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length] = v;
    return this.length++;
  }

  get(i: number): number {
    return this.buf[i] as number;
  }

  set(i: number, v: number): void {
    this.buf[i] = v;
  }
}
