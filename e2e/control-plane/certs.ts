/**
 * The control plane's PKI, made by openssl in the control plane's own directory: a CA, the API
 * server's serving certificate (127.0.0.1 and localhost), the service-account signing key pair and
 * client certificates (the admin one in group system:masters).
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execOk } from "./exec.js";

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The service-account token signing key (private) and its public half. */
  saKey: string;
  saPub: string;
}

export interface ClientCert {
  cert: string;
  key: string;
}

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

const DAYS = "7";
const OPENSSL_TIMEOUT_MS = 30_000;

function openssl(args: readonly string[]): Promise<string> {
  return execOk(["openssl", ...args], { timeoutMs: OPENSSL_TIMEOUT_MS }).catch((e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${msg}\n(is openssl installed? run e2e/infra/install-deps.sh)`);
  });
}

function serial(): string {
  return `0x${randomBytes(8).toString("hex")}`;
}

/** A subject from name parts, e.g. [["O","system:masters"],["CN","admin"]] → /O=system:masters/CN=admin. */
function subject(cn: string, organizations: readonly string[]): string {
  const esc = (s: string): string => s.replace(/[/\\]/g, (c) => `\\${c}`);
  return `${organizations.map((o) => `/O=${esc(o)}`).join("")}/CN=${esc(cn)}`;
}

async function signedCert(
  dir: string,
  pki: Pki,
  name: string,
  subj: string,
  extensions: "server_ext" | "client_ext",
): Promise<ClientCert> {
  const cnf = join(dir, "openssl.cnf");
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  await openssl([
    "req",
    "-new",
    "-config",
    cnf,
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    csr,
    "-subj",
    subj,
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    pki.caCert,
    "-CAkey",
    pki.caKey,
    "-set_serial",
    serial(),
    "-days",
    DAYS,
    "-extfile",
    cnf,
    "-extensions",
    extensions,
    "-out",
    cert,
  ]);
  return { cert, key };
}

/** Makes the CA, the serving certificate and the service-account keys in dir. */
export async function makePki(dir: string): Promise<Pki> {
  const cnf = join(dir, "openssl.cnf");
  await writeFile(cnf, OPENSSL_CONFIG, { mode: 0o600 });
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.crt");
  await openssl([
    "req",
    "-x509",
    "-config",
    cnf,
    "-extensions",
    "ca_ext",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    caKey,
    "-out",
    caCert,
    "-days",
    DAYS,
    "-subj",
    "/CN=netmap-test-ca",
  ]);
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", saKey]);
  await openssl(["pkey", "-in", saKey, "-pubout", "-out", saPub]);
  const partial: Pki = { caCert, caKey, serverCert: "", serverKey: "", saKey, saPub };
  const server = await signedCert(dir, partial, "kube-apiserver", "/CN=kube-apiserver", "server_ext");
  return { ...partial, serverCert: server.cert, serverKey: server.key };
}

/** A client certificate for user `cn` in the given groups (O=), signed by the control plane's CA. */
export function makeClientCert(
  dir: string,
  pki: Pki,
  fileName: string,
  cn: string,
  groups: readonly string[] = [],
): Promise<ClientCert> {
  return signedCert(dir, pki, fileName, subject(cn, groups), "client_ext");
}
