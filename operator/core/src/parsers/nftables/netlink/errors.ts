/** Errors of the nftables netlink decoder. */

/** The bytes are not a well-formed netlink stream or nftables message (truncated, bad length, …). */
export class NftNetlinkError extends Error {
  override name = "NftNetlinkError";
}

/**
 * The message is well formed but holds something this decoder cannot render exactly as `nft -j`
 * does (an expression, attribute or value shape it does not know). Callers fall back to `nft -j`.
 */
export class NftNetlinkUnsupported extends Error {
  override name = "NftNetlinkUnsupported";
}
