/** IPVS and ipset parsers: `ipvsadm -S -n`, `ipvsadm -L -n`, `ipset save`, `ipset list`. */
export { parseIpsetList, parseIpsetSave } from "./ipset.js";
export { parseIpvsadmList, parseIpvsadmSave } from "./ipvsadm.js";
