// The Notary Project trust policy (the `trustpolicy.json` format notation reads): which
// registry scopes a statement covers, how strict verification is (level, with overrides
// per check), which trust stores and which identities are trusted. Pure rules: parsing,
// validation with the same constraints notation applies, choosing the statement for an
// artifact, and matching a signer against trustedIdentities.
import { UsageError } from '../errors.js';

/** The verification levels, strictest first. */
export const VERIFICATION_LEVELS = ['strict', 'permissive', 'audit', 'skip'] as const;
/** A verification level. */
export type VerificationLevel = (typeof VERIFICATION_LEVELS)[number];
/** The validations a level sets to enforce, log or skip. */
export const VALIDATIONS = ['integrity', 'authenticity', 'authenticTimestamp', 'expiry', 'revocation'] as const;
/** One validation. */
export type Validation = (typeof VALIDATIONS)[number];
/** What a failed validation does: fail verification, be reported only, or not run. */
export type ValidationAction = 'enforce' | 'log' | 'skip';

/** A trust store a statement names: `ca:NAME`, `signingAuthority:NAME` or `tsa:NAME`. */
export interface TrustStoreRef {
  type: 'ca' | 'signingAuthority' | 'tsa';
  name: string;
}

/** One statement of a trust policy. */
export interface TrustPolicyStatement {
  name: string;
  /** `host/repository` scopes, or ['*'] for every artifact. */
  registryScopes: string[];
  level: VerificationLevel;
  override: Partial<Record<Validation, ValidationAction>>;
  trustStores: TrustStoreRef[];
  /** `*`, `x509.subject: DN`, or (as AWS Signer's plugin reads them) a signing profile ARN. */
  trustedIdentities: string[];
}

/** A parsed and validated trust policy document. */
export interface TrustPolicy {
  version: string;
  trustPolicies: TrustPolicyStatement[];
  /** Where it came from (a file path, or `default`). */
  source: string;
}

const LEVEL_ACTIONS: Record<VerificationLevel, Record<Validation, ValidationAction>> = {
  strict: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'enforce',
    expiry: 'enforce',
    revocation: 'enforce',
  },
  permissive: {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  },
  audit: { integrity: 'enforce', authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' },
  skip: { integrity: 'skip', authenticity: 'skip', authenticTimestamp: 'skip', expiry: 'skip', revocation: 'skip' },
};

/** The policy used without --trust-policy: every scope, strict, every store of the trust store, any identity it anchors. */
export function defaultTrustPolicy(): TrustPolicy {
  return {
    version: '1.0',
    source: 'default',
    trustPolicies: [
      {
        name: 'default',
        registryScopes: ['*'],
        level: 'strict',
        override: {},
        trustStores: [
          { type: 'ca', name: '*' },
          { type: 'signingAuthority', name: '*' },
        ],
        trustedIdentities: ['*'],
      },
    ],
  };
}

function bad(source: string, message: string): UsageError {
  return new UsageError(`trust policy ${source}: ${message}`, {
    rule: 'the Notary Project trust policy format (version 1.0)',
    fix: 'see https://notaryproject.dev/docs/user-guides/how-to/manage-trust-policy/',
  });
}

function strings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Parses and validates a trust policy document (JSON text); throws UsageError naming what is wrong. */
export function parseTrustPolicy(text: string, source: string): TrustPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(source, `not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const d = doc as { version?: unknown; trustPolicies?: unknown } | null;
  if (!d || typeof d !== 'object') throw bad(source, 'not a JSON object');
  if (d.version !== '1.0') throw bad(source, `version must be "1.0", got ${JSON.stringify(d.version)}`);
  if (!Array.isArray(d.trustPolicies) || d.trustPolicies.length === 0) {
    throw bad(source, 'trustPolicies must list at least one statement');
  }
  const names = new Set<string>();
  const scopes = new Set<string>();
  const statements = d.trustPolicies.map((raw, i): TrustPolicyStatement => {
    const s = raw as Record<string, unknown>;
    const at = `trustPolicies[${i}]`;
    if (!s || typeof s !== 'object') throw bad(source, `${at} is not an object`);
    if (typeof s.name !== 'string' || s.name === '') throw bad(source, `${at}.name is missing`);
    if (names.has(s.name)) throw bad(source, `statement name '${s.name}' is used twice`);
    names.add(s.name);
    const where = `statement '${s.name}'`;
    if (!strings(s.registryScopes) || s.registryScopes.length === 0) {
      throw bad(source, `${where}: registryScopes must list scopes (or "*")`);
    }
    if (s.registryScopes.includes('*') && s.registryScopes.length > 1) {
      throw bad(source, `${where}: "*" must be the only registry scope`);
    }
    for (const scope of s.registryScopes) {
      if (scope !== '*' && !/^[^/\s@:]+(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/.test(scope)) {
        throw bad(source, `${where}: registry scope '${scope}' must be HOST/REPOSITORY (no tag or digest) or "*"`);
      }
      if (scopes.has(scope)) throw bad(source, `registry scope '${scope}' is in more than one statement`);
      scopes.add(scope);
    }
    const sv = (s.signatureVerification ?? {}) as { level?: unknown; override?: unknown };
    if (!(VERIFICATION_LEVELS as readonly string[]).includes(String(sv.level))) {
      throw bad(source, `${where}: signatureVerification.level must be one of ${VERIFICATION_LEVELS.join(', ')}`);
    }
    const level = sv.level as VerificationLevel;
    const override: Partial<Record<Validation, ValidationAction>> = {};
    for (const [k, v] of Object.entries((sv.override ?? {}) as Record<string, unknown>)) {
      if (!(VALIDATIONS as readonly string[]).includes(k)) throw bad(source, `${where}: unknown override '${k}'`);
      if (v !== 'enforce' && v !== 'log' && v !== 'skip') {
        throw bad(source, `${where}: override ${k} must be enforce, log or skip`);
      }
      if (k === 'integrity' || level === 'skip')
        throw bad(source, `${where}: ${k} cannot be overridden at level ${level}`);
      if (k === 'authenticity' && v === 'skip') throw bad(source, `${where}: authenticity cannot be skipped`);
      override[k as Validation] = v;
    }
    const stores = s.trustStores ?? [];
    const identities = s.trustedIdentities ?? [];
    if (!strings(stores) || !strings(identities)) {
      throw bad(source, `${where}: trustStores and trustedIdentities must be lists of strings`);
    }
    if (level === 'skip') {
      if (stores.length > 0 || identities.length > 0) {
        throw bad(source, `${where}: level skip takes no trustStores or trustedIdentities`);
      }
    } else if (stores.length === 0 || identities.length === 0) {
      throw bad(source, `${where}: trustStores and trustedIdentities must not be empty`);
    }
    if (identities.includes('*') && identities.length > 1) {
      throw bad(source, `${where}: "*" must be the only trusted identity`);
    }
    const trustStores = stores.map((ref): TrustStoreRef => {
      const m = /^(ca|signingAuthority|tsa):([A-Za-z0-9_.-]+)$/.exec(ref);
      if (!m) throw bad(source, `${where}: trust store '${ref}' must be ca:NAME, signingAuthority:NAME or tsa:NAME`);
      return { type: m[1] as TrustStoreRef['type'], name: m[2] as string };
    });
    for (const id of identities) {
      if (id !== '*' && !id.startsWith('arn:')) {
        const m = /^x509\.subject:\s*(.+)$/.exec(id);
        if (!m)
          throw bad(
            source,
            `${where}: trusted identity '${id}' must be "*", x509.subject: DN, or a signing profile ARN`,
          );
        parseDn(m[1] as string);
      }
    }
    return {
      name: s.name,
      registryScopes: s.registryScopes,
      level,
      override,
      trustStores,
      trustedIdentities: identities,
    };
  });
  return { version: '1.0', trustPolicies: statements, source };
}

/**
 * Returns the statement that applies to scope (`host/repository`; undefined for an artifact
 * outside any registry, which only "*" covers): an exact scope wins over "*".
 */
export function selectStatement(policy: TrustPolicy, scope: string | undefined): TrustPolicyStatement | undefined {
  if (scope !== undefined) {
    const exact = policy.trustPolicies.find((s) => s.registryScopes.includes(scope));
    if (exact) return exact;
  }
  return policy.trustPolicies.find((s) => s.registryScopes.includes('*'));
}

/** Returns what each validation does under a statement (its level, then its overrides). */
export function actionsOf(statement: TrustPolicyStatement): Record<Validation, ValidationAction> {
  return { ...LEVEL_ACTIONS[statement.level], ...statement.override };
}

/** Parses a distinguished name (`C=US, ST=WA, O=Acme, CN=x`, commas escaped as `\,`) into attribute=value pairs. */
export function parseDn(dn: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of dn.split(/(?<!\\)[,\n]/)) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`'${dn}' is not a distinguished name (want e.g. C=US, ST=WA, O=Acme)`);
    out.push([
      part.slice(0, eq).trim().toUpperCase(),
      part
        .slice(eq + 1)
        .trim()
        .replace(/\\,/g, ','),
    ]);
  }
  return out;
}

/** What trustedIdentities are matched against. */
export interface SignerIdentity {
  /** The leaf certificate's subject (Node's X509Certificate.subject form or a DN). */
  subject: string;
  /** The signing profile ARN from the signed attributes, when the signature has one. */
  signingProfile?: string;
}

/**
 * Returns the trusted identity that matches the signer, or undefined: `*` matches any;
 * `x509.subject: DN` matches when every attribute of DN is in the leaf's subject; an ARN
 * matches the signed signing profile (the ARN itself, or a version of it).
 */
export function matchIdentity(identities: readonly string[], signer: SignerIdentity): string | undefined {
  const subject = parseDn(signer.subject);
  return identities.find((id) => {
    if (id === '*') return true;
    if (id.startsWith('arn:')) {
      const p = signer.signingProfile;
      return p !== undefined && (p === id || id.startsWith(`${p}/`));
    }
    const m = /^x509\.subject:\s*(.+)$/.exec(id);
    if (!m) return false;
    return parseDn(m[1] as string).every(([k, v]) => subject.some(([sk, sv]) => sk === k && sv === v));
  });
}
