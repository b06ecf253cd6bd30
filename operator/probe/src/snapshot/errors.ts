/** A snapshot directory cannot be written or read; `hint` says what to do about it. */
export class SnapshotError extends Error {
  constructor(
    message: string,
    /** What the user can do about it. */
    readonly hint: string,
    /** The file or directory concerned. */
    readonly path?: string,
  ) {
    super(`${message}\n  hint: ${hint}`);
    this.name = "SnapshotError";
  }
}
