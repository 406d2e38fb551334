// promote: adds tags to an image already in its repository by writing its manifest under each
// tag. No blob moves. ECR repositories are retagged through the ECR API (PutImage with the
// manifest's media type); other registries through the registry API (PUT manifest).
import { loadProjectConfig, rulesFor } from '../config/project-config.js';
import { describeRepository } from '../ecr/repositories.js';
import { digestOfTag, getEcrManifest, putTag, tagsOfImage } from '../ecr/retag.js';
import { NotFoundError, RuleViolation, UsageError } from '../errors.js';
import { formatReference, manifestReference, parseLocation } from '../oci/reference.js';
import { checkTagRules, planTagStates, type RuleCheck, type TagState } from '../policy/tags.js';
import type { Session } from '../session.js';
import { ecrConnection, ecrTarget, registryClient } from './ecr.js';
import { resolveLocation } from './locations.js';
import type { TrustOptions } from './verify.js';
import { immutableTagRefusal } from './push-plan.js';
import { brokenRules, conflictsOf, IMMUTABLE_TAG_RULE, tagsAt } from './tag-plan.js';

/** ECR's quota of tags on one image. */
export const MAX_TAGS_PER_IMAGE = 1000;

/** What promote accepts. */
export interface PromoteOptions {
  /** The image: `REPO:TAG` or `REPO@DIGEST` (short ECR form, or `HOST/REPO…`). */
  image: string;
  /** Tags to add. */
  tags: readonly string[];
  /** Decide and report, write nothing. */
  dryRun?: boolean;
  /** Refuse (RuleViolation, nothing written) unless a Notary signature of the image verifies. */
  requireSigned?: TrustOptions;
}

/** What promote did. */
export interface PromoteResult {
  /** The image pinned by digest. */
  imageUri: string;
  digest: string;
  mediaType: string;
  /** Tags written (or that would be, on a dry run). */
  added: string[];
  /** Tags that already pointed at the image. */
  unchanged: string[];
  dryRun: boolean;
  /** The signature that verified, with --require-signed. */
  signature?: { digest: string; signer?: string; signingProfile?: string };
}

/**
 * Adds tags to an existing image. Tag rules from the project config apply; an immutable tag on
 * another image, or passing ECR's 1,000 tags per image, is refused (RuleViolation) before
 * anything is written.
 */
export async function promote(session: Session, opts: PromoteOptions): Promise<PromoteResult> {
  const dryRun = opts.dryRun === true;
  const loc = await resolveLocation(session, parseLocation(opts.image));
  if (loc.transport !== 'registry' || (!loc.reference.tag && !loc.reference.digest)) {
    throw new UsageError('promote takes an image in a registry, named by tag or digest', {
      value: opts.image,
      fix: 'write e.g. app:main-abc1234 or app@sha256:…',
    });
  }
  // The signature gate runs first: an image that does not verify leaves every tag as it was.
  let signature: PromoteResult['signature'];
  let verifiedDigest: string | undefined;
  if (opts.requireSigned) {
    // Loaded only for the gate: verification brings CBOR and X.509 code promote does not need otherwise.
    const { requireSigned } = await import('./verify.js');
    const v = await requireSigned(session, opts.image, opts.requireSigned);
    const s = v.signatures.find((x) => x.digest === v.verifiedBy);
    verifiedDigest = v.subject.digest;
    signature = {
      digest: v.verifiedBy as string,
      ...(s?.signer ? { signer: s.signer.subject } : {}),
      ...(s?.signingProfile ? { signingProfile: s.signingProfile } : {}),
    };
  }
  const sameAsVerified = (digest: string) => {
    if (verifiedDigest !== undefined && digest !== verifiedDigest) {
      throw new RuleViolation(
        `${opts.image} changed during verification (${verifiedDigest} -> ${digest}); no tag was added`,
        {
          rule: 'only the image whose signature verified is promoted',
          value: digest,
          fix: 'promote by digest (REPO@sha256:…), or run again',
        },
      );
    }
  };
  const unique = [...new Set(opts.tags)];
  const repository = loc.reference.repository;
  const config = await loadProjectConfig(session.cwd, session.configFile);
  const rules = rulesFor(config, repository);
  const ecr = await ecrTarget(session, loc.reference.registry);
  const checkRules = (checks: RuleCheck[]) => {
    for (const c of checks) if (c.status === 'warning') session.log.warn(`${c.rule}: ${c.message}`);
    const broken = brokenRules(checks, {
      nothing: 'no tag was added',
      fix: rules?.at ? `choose other tags, or change the rule (${rules.at})` : 'choose other tags',
    });
    if (broken) throw broken;
  };

  if (ecr) {
    const conn = await ecrConnection(session, ecr);
    const info = await describeRepository(conn, repository);
    if (!info) throw new NotFoundError(`repository ${repository} does not exist`, { value: repository });
    const mutability = { setting: info.tagMutability, exclusions: info.mutabilityExclusions };
    const image = await getEcrManifest(conn, repository, {
      ...(loc.reference.tag ? { tag: loc.reference.tag } : {}),
      ...(loc.reference.digest ? { digest: loc.reference.digest } : {}),
    });
    sameAsVerified(image.digest);
    checkRules(checkTagRules({ repository, tags: unique, ...(rules ? { rules } : {}), mutability }));
    const existing = await tagsOfImage(conn, repository, image.digest);
    const fresh = unique.filter((t) => !existing.includes(t));
    if (existing.length + fresh.length > MAX_TAGS_PER_IMAGE) {
      throw new RuleViolation(
        `${repository}@${image.digest} has ${existing.length} tags; ${fresh.length} more would pass ECR's limit of ${MAX_TAGS_PER_IMAGE} tags per image`,
        {
          rule: 'an ECR image holds at most 1,000 tags',
          value: fresh.join(','),
          fix: 'remove tags that are no longer used (ecrctl delete REPO:TAG), or a lifecycle rule that expires old tags',
        },
      );
    }
    const present = new Map<string, string | undefined>();
    for (const t of fresh) present.set(t, await digestOfTag(conn, repository, t));
    refuseConflicts(planTagStates(image.digest, present, mutability), repository, image.digest);
    const added: string[] = [];
    if (!dryRun) for (const t of fresh) if ((await putTag(conn, repository, image, t)) === 'added') added.push(t);
    const written = dryRun ? fresh : added;
    return {
      imageUri: `${info.uri}@${image.digest}`,
      digest: image.digest,
      mediaType: image.mediaType,
      added: written,
      unchanged: unique.filter((t) => !written.includes(t)),
      dryRun,
      ...(signature ? { signature } : {}),
    };
  }

  const target = (await registryClient(session)).repository(loc.reference.registry, repository);
  const m = await target.getManifest(manifestReference(loc.reference), { signal: session.signal });
  sameAsVerified(m.digest);
  checkRules(checkTagRules({ repository, tags: unique, ...(rules ? { rules } : {}) }));
  const states = planTagStates(m.digest, await tagsAt(target, unique, session.signal));
  const fresh = states.filter((s) => s.action !== 'unchanged').map((s) => s.tag);
  if (!dryRun) {
    for (const t of fresh) {
      try {
        await target.putManifest(m, t, { signal: session.signal });
      } catch (err) {
        throw immutableTagRefusal(err, repository);
      }
    }
  }
  const base = formatReference({ ...loc.reference, tag: undefined, digest: undefined });
  return {
    imageUri: `${base}@${m.digest}`,
    digest: m.digest,
    mediaType: m.mediaType,
    added: fresh,
    unchanged: unique.filter((t) => !fresh.includes(t)),
    dryRun,
    ...(signature ? { signature } : {}),
  };
}

function refuseConflicts(states: TagState[], repository: string, digest: string): void {
  const bad = conflictsOf(states);
  if (bad.length === 0) return;
  throw new RuleViolation(
    `${bad.length === 1 ? `tag '${bad[0]?.tag}' is` : `${bad.length} tags are`} immutable in ${repository} and on another image; no tag was added`,
    {
      rule: IMMUTABLE_TAG_RULE,
      fix: 'environment tags that move (staging, production) need an IMMUTABLE_WITH_EXCLUSION filter for them, e.g. `ecrctl create-repo REPO --if-not-exists --apply --tag-mutability IMMUTABLE_WITH_EXCLUSION --mutability-exclusion staging`',
      problems: bad.map((s) => `tag '${s.tag}': points at ${s.current}; promoting ${digest}`),
    },
  );
}
