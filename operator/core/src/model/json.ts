/** A JSON value, for structures netmap keeps as the tool printed them (nft expressions). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
