/** IPVS as `ipvsadm -Sn` / `ipvsadm -Ln` print it, and the ipsets kube-proxy uses beside it. */

export type IpvsProtocol = "TCP" | "UDP" | "SCTP" | "FWM";
/** Masq = NAT (what kube-proxy uses), Route = direct routing, Tunnel = IPIP, Local. */
export type IpvsForward = "Masq" | "Route" | "Tunnel" | "Local";

export interface IpvsRealServer {
  address: string;
  port: number;
  forward: IpvsForward;
  weight: number;
  activeConn?: number;
  inactConn?: number;
}

export interface IpvsVirtualServer {
  protocol: IpvsProtocol;
  /** Virtual address; for FWM services the mark as a string. */
  address: string;
  port: number;
  fwmark?: number;
  /** rr, wrr, lc, sh, mh, ... */
  scheduler: string;
  /** Persistence timeout in seconds (sessionAffinity: ClientIP), if set. */
  persistent?: number;
  flags: string[];
  realServers: IpvsRealServer[];
  /** The line(s) it was parsed from, for evidence. */
  text: string;
}

export interface IpSet {
  name: string;
  /** "hash:ip,port", "hash:ip,port,ip", "hash:net", "bitmap:port", ... */
  type: string;
  /** Header options (family inet, hashsize, maxelem, comment, ...). */
  header: Record<string, string>;
  /** Members exactly as printed, e.g. "10.96.0.10,udp:53". */
  members: string[];
}
