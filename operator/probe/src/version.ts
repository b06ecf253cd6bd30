/** netmap's version, recorded in every snapshot manifest. Keep in step with package.json. */
export const NETMAP_VERSION = "0.1.0";
