// signing: ECR managed signing. The registry's signing rules (get, set — checked against the
// API model's limits before anything is sent — and delete), and whether an image (each
// platform of an index) has been signed, per signing profile.
import { describeScanTarget, indexChildren, isIndexMediaType } from '../ecr/scanning.js';
import {
  checkSigningRules,
  deleteSigningConfiguration,
  describeImageSigningStatus,
  getSigningConfiguration,
  type ImageSigningStatus,
  putSigningConfiguration,
  type SigningRule,
} from '../ecr/signing.js';
import { parseEcrHost } from '../ecr/hosts.js';
import { EcrctlError, NotFoundError, RuleViolation, UsageError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

export type { ImageSigningStatus, SigningRule };

/** The registry's signing rules. */
export interface SigningRules {
  /** False when the registry has no signing configuration. */
  configured: boolean;
  /** The rules, in order (none when not configured). */
  rules: SigningRule[];
}

/** Returns the signing rules of the session's default registry. */
export async function getSigningRules(session: Session): Promise<SigningRules> {
  const conn = await ecrConnection(session);
  const cfg = await getSigningConfiguration(conn);
  return { configured: cfg !== undefined, rules: cfg?.rules ?? [] };
}

/** What setSigningRules accepts. */
export interface SetSigningRulesOptions {
  /** The rules that replace the current ones (at most 10). */
  rules: readonly SigningRule[];
}

/**
 * Replaces the signing rules. RuleViolation naming every problem (at most 10 rules, each a
 * signing profile ARN and 0–100 WILDCARD_MATCH filters), and nothing sent, when they break
 * the limits. Returns the rules as ECR stored them.
 */
export async function setSigningRules(session: Session, opts: SetSigningRulesOptions): Promise<SigningRules> {
  const problems = checkSigningRules(opts.rules);
  if (problems.length > 0) {
    throw new RuleViolation(
      problems.length === 1
        ? `the signing configuration breaks a rule: ${problems[0]}`
        : `the signing configuration breaks ${problems.length} rules; nothing was changed`,
      {
        rule: 'at most 10 rules; each names an AWS Signer signing profile ARN and 1–100 WILDCARD_MATCH filters (1–256 characters) or none',
        fix: 'fix the problems listed; `ecrctl signing config get` shows the current rules',
        ...(problems.length > 1 ? { problems } : {}),
      },
    );
  }
  const conn = await ecrConnection(session);
  const stored = await putSigningConfiguration(conn, opts.rules);
  session.log.info(`signing configuration saved: ${stored.length} rule${stored.length === 1 ? '' : 's'}`);
  return { configured: true, rules: stored };
}

/** Deletes the signing configuration (pushed images are no longer signed); NotFoundError when there is none. */
export async function deleteSigningRules(session: Session): Promise<{ removed: SigningRule[] }> {
  const conn = await ecrConnection(session);
  const removed = await deleteSigningConfiguration(conn);
  if (removed === undefined)
    throw new NotFoundError('the registry has no signing configuration', {
      fix: 'see `ecrctl signing config get`',
    });
  session.log.info(`signing configuration deleted (${removed.length} rule${removed.length === 1 ? '' : 's'})`);
  return { removed };
}

/**
 * Returns the rules of a signing configuration document: `{"rules":[…]}`, or the
 * `{"signingConfiguration":{…}}` the API returns. RuleViolation naming `file` when it is not
 * JSON or has no list of rules.
 */
export function parseSigningRules(text: string, file: string): SigningRule[] {
  const example =
    'write {"rules":[{"signingProfileArn":"arn:aws:signer:…:/signing-profiles/NAME","repositoryFilters":[{"filter":"prod/*","filterType":"WILDCARD_MATCH"}]}]}';
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RuleViolation(`${file} is not valid JSON: ${(err as Error).message}`, { value: file, fix: example });
  }
  const holder = (doc as { signingConfiguration?: unknown })?.signingConfiguration ?? doc;
  const rules = (holder as { rules?: unknown })?.rules;
  if (!Array.isArray(rules) || rules.some((r) => r === null || typeof r !== 'object')) {
    throw new RuleViolation(`${file} has no "rules" list of objects`, { value: file, fix: example });
  }
  return rules as SigningRule[];
}

/** What signingStatus accepts. */
export interface SigningStatusOptions {
  /** The image: `REPO:TAG` (default tag latest), `REPO@DIGEST`, or a full private ECR reference. */
  image: string;
}

/** The signing status of one image (an index, or one platform of it). */
export interface ImageSigningRow {
  /** The image's (or index's) digest. */
  digest: string;
  /** An index (several platforms) or one image. */
  kind: 'index' | 'image';
  /** For the images of an index: `os/arch[/variant]`. */
  platform?: string;
  /** One per signing profile; none when the image has not been signed. */
  statuses: ImageSigningStatus[];
}

/** The signing status of an image and, for an index, of each platform image. */
export interface SigningStatusResult {
  /** The repository of the image. */
  repository: string;
  /** The digest of the image named (the index, for a multi-platform image). */
  digest: string;
  /** FAILED, IN_PROGRESS, COMPLETE (every platform image signed), PARTIAL or NONE. */
  status: string;
  /** The image named first, then each platform image of an index. */
  images: ImageSigningRow[];
}

/**
 * Returns whether an image (each platform of an index) has been signed; UsageError for an ECR
 * Public image. The image is found with DescribeImages; only an index's manifest is read
 * (BatchGetImage, which ECR records as a pull of the index) to learn its platforms.
 */
export async function signingStatus(session: Session, opts: SigningStatusOptions): Promise<SigningStatusResult> {
  const text = opts.image;
  const r = parseReference(text);
  const ecr = r.registry ? parseEcrHost(r.registry) : undefined;
  if (ecr?.kind === 'public')
    throw new UsageError('ECR Public images are not signed by managed signing', {
      value: text,
      fix: 'name a private ECR image',
    });
  const conn = await ecrConnection(
    session,
    ecr?.kind === 'private' ? { region: ecr.region, registryId: ecr.registryId } : {},
  );
  const image = r.digest ? { digest: r.digest } : { tag: r.tag ?? 'latest' };
  const top = await describeScanTarget(conn, r.repository, image);
  const rows: ImageSigningRow[] = [];
  const isIndex = isIndexMediaType(top.mediaType);
  rows.push({
    digest: top.digest,
    kind: isIndex ? 'index' : 'image',
    statuses: (await describeImageSigningStatus(conn, r.repository, { digest: top.digest })).statuses,
  });
  if (isIndex) {
    const children = await Promise.all(
      (await indexChildren(conn, r.repository, top.digest)).map(async (d) => ({
        digest: d.digest,
        kind: 'image' as const,
        ...(d.platform ? { platform: d.platform } : {}),
        statuses: (await describeImageSigningStatus(conn, r.repository, { digest: d.digest })).statuses,
      })),
    );
    rows.push(...children);
  }
  return { repository: r.repository, digest: top.digest, status: overall(rows), images: rows };
}

/**
 * Returns the error a signing status amounts to: a FAILED signature, or with requireSigned an
 * image that is not signed (for every platform); undefined when there is none.
 */
export function signingStatusError(
  result: SigningStatusResult,
  opts: { requireSigned?: boolean } = {},
): EcrctlError | undefined {
  const { repository, digest, status } = result;
  if (status === 'FAILED') {
    const failed = result.images.flatMap((row) =>
      row.statuses
        .filter((s) => s.status === 'FAILED')
        .map(
          (s) => `${row.platform ?? row.digest} (${s.signingProfileArn}${s.failureCode ? `: ${s.failureCode}` : ''})`,
        ),
    );
    return new EcrctlError(`signing of ${repository}@${digest} failed for ${failed.join(', ')}`, {
      fix: 'check the signing profile (it must be active, and ECR must be allowed to use it); push the image again to retry',
    });
  }
  if (opts.requireSigned && status !== 'COMPLETE') {
    return new EcrctlError(
      `${repository}@${digest} is not signed${status === 'PARTIAL' ? ' for every platform' : ''} (status ${status})`,
      {
        fix: 'check `ecrctl signing config get`: a rule must cover the repository when the image is pushed',
      },
    );
  }
  return undefined;
}

/** Returns the overall status: FAILED, IN_PROGRESS, COMPLETE (every platform image signed), PARTIAL or NONE. */
function overall(rows: readonly ImageSigningRow[]): string {
  const all = rows.flatMap((r) => r.statuses);
  if (all.length === 0) return 'NONE';
  if (all.some((s) => s.status === 'FAILED')) return 'FAILED';
  if (all.some((s) => s.status !== 'COMPLETE')) return 'IN_PROGRESS';
  const images = rows.filter((r) => r.kind === 'image');
  return images.every((r) => r.statuses.some((s) => s.status === 'COMPLETE')) ? 'COMPLETE' : 'PARTIAL';
}
