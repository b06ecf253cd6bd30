/** `ip -j addr`: one entry per address (IFA_*). */
export interface Address {
  ifindex: number;
  ifname: string;
  family: 4 | 6;
  /** IFA_LOCAL, e.g. "10.244.1.1". */
  local: string;
  prefixlen: number;
  scope: string;
  broadcast?: string;
  /** Point-to-point peer (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: string;
  /** Flags such as "permanent", "secondary", "noprefixroute". */
  flags: string[];
  label?: string;
}
