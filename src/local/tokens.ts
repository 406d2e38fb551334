// Authorization tokens and layer download URLs of the local endpoint. They are signed with
// the data directory's secret rather than kept in memory, so a token handed out before a
// restart still works after it — as a real ECR token does while the service keeps running.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a registry password grants: one registry until a time. */
export interface TokenClaims {
  kind: 'private' | 'public';
  account: string;
  region: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
  /**
   * The IAM principal whose access key asked GetAuthorizationToken: data-plane requests act
   * as that identity (ECR's pull-time update exclusions name principals). Absent in tokens
   * minted before principals were carried.
   */
  principal?: string;
}

/** What a layer download token grants: one blob of one repository until a time. */
export interface DownloadClaims {
  registry: string;
  repository: string;
  digest: string;
  exp: number;
}

// Real ECR passwords are a little over 2,000 characters; clients that store them (Docker's
// credential stores, Windows' 2,560-byte credential limit) meet the same length here.
const PASSWORD_LENGTH = 2500;

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

function sign(secret: Buffer, text: string): string {
  return b64url(createHmac('sha256', secret).update(text).digest());
}

function seal(secret: Buffer, prefix: string, claims: object, totalLength: number): string {
  const payload = b64url(Buffer.from(JSON.stringify(claims)));
  const fixed = prefix.length + payload.length + 43 + 3;
  const padLength = Math.max(0, totalLength - fixed);
  const padding = b64url(randomBytes(Math.ceil((padLength * 3) / 4) + 3)).slice(0, padLength);
  const body = `${prefix}.${payload}.${padding}`;
  return `${body}.${sign(secret, body)}`;
}

function open(secret: Buffer, prefix: string, token: string): unknown {
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== prefix) return undefined;
  const body = parts.slice(0, 3).join('.');
  const expected = Buffer.from(sign(secret, body));
  const given = Buffer.from(parts[3] ?? '');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  try {
    return JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Returns a new opaque registry password (about 2,500 characters) carrying claims. */
export function mintPassword(secret: Buffer, claims: TokenClaims): string {
  const sealed = { k: claims.kind, a: claims.account, r: claims.region, e: claims.exp, p: claims.principal };
  return seal(secret, 'ecrL1', sealed, PASSWORD_LENGTH);
}

/** Returns the claims of a password this endpoint minted, or undefined when forged or garbled. */
export function readPassword(secret: Buffer, password: string): TokenClaims | undefined {
  const c = open(secret, 'ecrL1', password) as
    | { k?: string; a?: string; r?: string; e?: number; p?: unknown }
    | undefined;
  if (!c || (c.k !== 'private' && c.k !== 'public') || typeof c.a !== 'string' || typeof c.r !== 'string')
    return undefined;
  if (typeof c.e !== 'number') return undefined;
  return { kind: c.k, account: c.a, region: c.r, exp: c.e, ...(typeof c.p === 'string' ? { principal: c.p } : {}) };
}

/** Returns a short URL-safe token that lets its holder download one blob until claims.exp. */
export function mintDownloadToken(secret: Buffer, claims: DownloadClaims): string {
  return seal(secret, 'ecrD1', { g: claims.registry, n: claims.repository, d: claims.digest, e: claims.exp }, 0);
}

/** Returns the claims of a download token, or undefined when forged. */
export function readDownloadToken(secret: Buffer, token: string): DownloadClaims | undefined {
  const c = open(secret, 'ecrD1', token) as { g?: string; n?: string; d?: string; e?: number } | undefined;
  if (!c || typeof c.g !== 'string' || typeof c.n !== 'string' || typeof c.d !== 'string' || typeof c.e !== 'number') {
    return undefined;
  }
  return { registry: c.g, repository: c.n, digest: c.d, exp: c.e };
}

/** Returns the opaque `last` token of a tag-list page that ended at tag (ECR's Link tokens are opaque too). */
export function mintTagPageToken(secret: Buffer, repository: string, lastTag: string): string {
  return seal(secret, 'ecrT1', { n: repository, t: lastTag }, 0);
}

/** Returns the tag a page token ended at, or undefined when the token was not issued for this repository. */
export function readTagPageToken(secret: Buffer, repository: string, token: string): string | undefined {
  const c = open(secret, 'ecrT1', token) as { n?: string; t?: string } | undefined;
  return c && c.n === repository && typeof c.t === 'string' ? c.t : undefined;
}

/** What an ECR Public bearer token grants: actions on repositories of one public registry until a time. */
export interface BearerClaims {
  account: string;
  /** Repository path (as the client names it, alias included) → granted actions. */
  access: Record<string, string[]>;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

/** Returns a bearer token for ECR Public's data plane carrying claims. */
export function mintBearerToken(secret: Buffer, claims: BearerClaims): string {
  return seal(secret, 'ecrB1', { a: claims.account, x: claims.access, e: claims.exp }, 0);
}

/** Returns the claims of a bearer token this endpoint minted, or undefined when forged or garbled. */
export function readBearerToken(secret: Buffer, token: string): BearerClaims | undefined {
  const c = open(secret, 'ecrB1', token) as { a?: string; x?: Record<string, string[]>; e?: number } | undefined;
  if (!c || typeof c.a !== 'string' || typeof c.x !== 'object' || c.x === null || typeof c.e !== 'number') {
    return undefined;
  }
  return { account: c.a, access: c.x, exp: c.e };
}
