// TLS for `ecrctl local serve --tls`: ECR is HTTPS, so the emulator can be too. A CA of its
// own (ECDSA P-256, 10 years) and one server certificate for the loopback names
// (127.0.0.1, ::1, localhost; 1 year) are made on first use and kept in <data>/tls/, so a
// client told to trust the CA once keeps trusting it across restarts. Every listener (the
// API and each registry's data plane: same names, other ports) presents that certificate.
// The certificates are DER-encoded here with node:crypto alone — no openssl at run time, and
// @peculiar/x509 needs a reflect-metadata polyfill that ecrctl does not ship.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { chmod, mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

/** The files of the endpoint's TLS material; `caFile` is what clients trust. */
export interface LocalTls {
  /** <data>/tls: also a skopeo `--cert-dir` (it holds one `.crt`, the CA). */
  dir: string;
  /** The CA certificate (PEM): `--ca-file`, AWS_CA_BUNDLE, NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** The server certificate and key (PEM) every listener presents. */
  cert: string;
  key: string;
}

const DAY = 86_400_000;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
/** A server certificate with less time left than this is made again at start. */
const RENEW_BEFORE_DAYS = 30;
const LOOPBACK_NAMES = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] };

/** Returns the TLS material of dataDir, creating the CA and server certificate when missing or due. */
export async function loadLocalTls(dataDir: string, host: string, now = new Date()): Promise<LocalTls> {
  const dir = path.join(dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const caFile = path.join(dir, 'ca.crt');
  const caKeyFile = path.join(dir, 'ca-key.pem');
  const certFile = path.join(dir, 'server.pem');
  const keyFile = path.join(dir, 'server-key.pem');

  let caPem = await readOptional(caFile);
  let caKeyPem = await readOptional(caKeyFile);
  if (caPem === undefined || caKeyPem === undefined || !stillValid(caPem, now, 0)) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    caKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    const name = `ecrctl local CA ${randomBytes(4).toString('hex')}`;
    caPem = pem(
      certificate({
        subject: name,
        issuer: name,
        spki,
        issuerSpki: spki,
        signingKey: caKeyPem,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + CA_DAYS * DAY),
        ca: true,
      }),
    );
    await writeAtomic(caKeyFile, caKeyPem);
    await writeAtomic(caFile, caPem, 0o644);
    await rmLeaf(certFile);
  }
  let certPem = await readOptional(certFile);
  let keyPem = await readOptional(keyFile);
  const extraIp = /^\d+\.\d+\.\d+\.\d+$/.test(host) && !LOOPBACK_NAMES.ips.includes(host) ? [host] : [];
  if (
    certPem === undefined ||
    keyPem === undefined ||
    !stillValid(certPem, now, RENEW_BEFORE_DAYS) ||
    !issuedBy(certPem, caPem) ||
    extraIp.some((ip) => new X509Certificate(certPem as string).checkIP(ip) === undefined)
  ) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const ca = new X509Certificate(caPem);
    certPem = pem(
      certificate({
        subject: 'ecrctl local',
        issuer: ca.subject.replace(/^CN=/, ''),
        spki: pair.publicKey.export({ type: 'spki', format: 'der' }),
        issuerSpki: createPublicKey(caPem).export({ type: 'spki', format: 'der' }),
        signingKey: caKeyPem,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + LEAF_DAYS * DAY),
        ca: false,
        dns: LOOPBACK_NAMES.dns,
        ips: [...LOOPBACK_NAMES.ips, ...extraIp],
      }),
    );
    await writeAtomic(keyFile, keyPem);
    await writeAtomic(certFile, certPem, 0o644);
  }
  return { dir, caFile, cert: certPem, key: keyPem };
}

function stillValid(certPem: string, now: Date, marginDays: number): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return new Date(cert.validTo).getTime() - marginDays * DAY > now.getTime();
  } catch {
    return false;
  }
}

function issuedBy(certPem: string, caPem: string): boolean {
  try {
    return new X509Certificate(certPem).verify(createPublicKey(caPem));
  } catch {
    return false;
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function rmLeaf(file: string): Promise<void> {
  const { rm } = await import('node:fs/promises');
  await rm(file, { force: true });
}

/** Writes a file through a synced temporary name (keys 0600, certificates 0644). */
async function writeAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, mode);
  await rename(tmp, file);
}

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

// --- DER, as much of it as a certificate needs ---

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);

function int(value: Buffer | number): Buffer {
  let b = typeof value === 'number' ? Buffer.from([value]) : value;
  while (b.length > 1 && b[0] === 0 && ((b[1] as number) & 0x80) === 0) b = b.subarray(1);
  if (((b[0] as number) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(text: string): Buffer {
  const parts = text.split('.').map(Number);
  const out: number[] = [40 * (parts[0] as number) + (parts[1] as number)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const ext = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** The key identifier of RFC 5280 4.2.1.2 (1): SHA-1 of the public key bits. */
function keyId(spki: Buffer): Buffer {
  const publicKeyBits = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({
    format: 'jwk',
  });
  // For EC keys the BIT STRING is the uncompressed point 04 || x || y.
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(publicKeyBits.x as string, 'base64url'),
    Buffer.from(publicKeyBits.y as string, 'base64url'),
  ]);
  return createHash('sha1').update(point).digest();
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    // Only ::1 and full forms are needed here; expand "::" into zeros.
    const [head = '', tail = ''] = ip.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] as string[];
    return Buffer.from(groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]));
  }
  return Buffer.from(ip.split('.').map(Number));
}

interface CertificateSpec {
  subject: string;
  issuer: string;
  spki: Buffer;
  issuerSpki: Buffer;
  signingKey: string;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  dns?: string[];
  ips?: string[];
}

function certificate(spec: CertificateSpec): Buffer {
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const extensions = [
    spec.ca ? ext('2.5.29.19', true, seq(bool(true), int(0))) : ext('2.5.29.19', true, seq()),
    // keyUsage: CA keyCertSign + cRLSign; server digitalSignature.
    spec.ca
      ? ext('2.5.29.15', true, bits(Buffer.from([0x06]), 1))
      : ext('2.5.29.15', true, bits(Buffer.from([0x80]), 7)),
    ext('2.5.29.14', false, octets(keyId(spec.spki))),
    ext('2.5.29.35', false, seq(tlv(0x80, keyId(spec.issuerSpki)))),
  ];
  if (!spec.ca) {
    extensions.push(ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
    extensions.push(
      ext(
        '2.5.29.17',
        false,
        seq(
          ...(spec.dns ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
          ...(spec.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
        ),
      ),
    );
  }
  const tbs = seq(
    explicit(0, int(2)),
    int(serial),
    ecdsaSha256,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.spki,
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, createPrivateKey(spec.signingKey));
  return seq(tbs, ecdsaSha256, bits(signature));
}
