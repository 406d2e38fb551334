// Managed signing: Put/Get/DeleteSigningConfiguration and DescribeImageSigningStatus, plus
// signing on push. A push to a repository that a rule's WILDCARD_MATCH filters cover gets a
// Notary Project signature attached as an OCI 1.1 referrer (artifactType
// application/vnd.cncf.notary.signature, subject = the image, one application/jose+json
// layer), signed with the data directory's signing certificate, issued by its root CA in
// `<data>/signing/root.pem` (see ../signer.ts), in place of AWS Signer.
// Signing happens during the push, so the status is derived from what is stored: COMPLETE
// when the signature referrer of that profile exists, FAILED when a rule covered the push
// but no signature of its profile is there (signing failed, or it was deleted).
import { createHash } from 'node:crypto';
import type { LocalContext } from '../context.js';
import { findRepository } from '../context.js';
import { ApiError, invalidParameter } from '../errors.js';
import { putManifest, resolveImage } from '../images.js';
import { MEDIA_TYPES } from '../manifest.js';
import {
  EMPTY_CONFIG,
  JWS_MEDIA_TYPE,
  loadSigner,
  NOTARY_SIGNATURE_TYPE,
  SIGNING_PROFILE_ANNOTATION,
} from '../signer.js';
import type { ImageRecord, RegistryRecord } from '../store.js';
import { list, obj, type OperationTable, privateRegistry, reqStr, requireRepository, str } from './kit.js';

interface SigningFilter {
  filter: string;
  filterType: string;
}

interface SigningRule {
  signingProfileArn: string;
  repositoryFilters?: SigningFilter[];
}

interface StoredSigning {
  rules: SigningRule[];
  /** When the configuration was last put, epoch ms: pushes before it were not covered. */
  updatedAt: number;
}

// The API model's limits (SigningConfiguration, SigningRule, SigningRepositoryFilter).
const MAX_RULES = 10;
const MAX_FILTERS = 100;
const PROFILE_ARN = /^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\/signing-profiles\/[a-zA-Z0-9_]{2,}$/;
const PROFILE_ARN_TEXT = '^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\\/signing-profiles\\/[a-zA-Z0-9_]{2,}$';
const FILTER = /^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*\/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$/;
const FILTER_TEXT = '^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$';

function storedOf(registry: RegistryRecord): StoredSigning | undefined {
  return registry.settings?.signingConfiguration as StoredSigning | undefined;
}

/** Returns true when a WILDCARD_MATCH filter matches the whole repository name (`*` = any run of characters). */
export function wildcardMatches(filter: string, repository: string): boolean {
  const re = new RegExp(
    `^${filter
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(repository);
}

/** Returns the signing profiles whose rules cover repository (no filters: every repository). */
function profilesFor(stored: StoredSigning | undefined, repository: string): string[] {
  const out: string[] = [];
  for (const rule of stored?.rules ?? []) {
    const filters = rule.repositoryFilters ?? [];
    const covered =
      filters.length === 0 ||
      filters.some((f) => f.filterType === 'WILDCARD_MATCH' && wildcardMatches(f.filter, repository));
    if (covered && !out.includes(rule.signingProfileArn)) out.push(rule.signingProfileArn);
  }
  return out;
}

function readRules(input: Record<string, unknown>): SigningRule[] {
  const config = obj(input, 'signingConfiguration', true) as Record<string, unknown>;
  const rules = list<Record<string, unknown>>(config, 'rules', { required: true, max: MAX_RULES }) as Record<
    string,
    unknown
  >[];
  return rules.map((r, i) => {
    if (r === null || typeof r !== 'object')
      throw invalidParameter(`signingConfiguration.rules.${i + 1}`, 'Member must be a structure');
    const arn = str(r, 'signingProfileArn', {
      required: true,
      max: 200,
      pattern: PROFILE_ARN,
      patternText: PROFILE_ARN_TEXT,
    }) as string;
    const filters = list<Record<string, unknown>>(r, 'repositoryFilters', { min: 1, max: MAX_FILTERS });
    const rule: SigningRule = { signingProfileArn: arn };
    if (filters) {
      rule.repositoryFilters = filters.map((f) => {
        const filter = str(f, 'filter', {
          required: true,
          min: 1,
          max: 256,
          pattern: FILTER,
          patternText: FILTER_TEXT,
        }) as string;
        const filterType = str(f, 'filterType', { required: true }) as string;
        if (filterType !== 'WILDCARD_MATCH')
          throw invalidParameter('filterType', 'Member must satisfy enum value set: [WILDCARD_MATCH]');
        return { filter, filterType };
      });
    }
    return rule;
  });
}

function notFound(registry: RegistryRecord): ApiError {
  return new ApiError(
    'SigningConfigurationNotFoundException',
    `Signing configuration not found for registry '${registry.account}'`,
  );
}

/** The signature referrers of digest in a repository's images, by signing profile. */
function signaturesOf(images: Record<string, ImageRecord>, digest: string): Map<string, ImageRecord> {
  const out = new Map<string, ImageRecord>();
  for (const i of Object.values(images)) {
    if (i.subject !== digest || i.artifactType !== NOTARY_SIGNATURE_TYPE) continue;
    out.set(i.annotations?.[SIGNING_PROFILE_ANNOTATION] ?? '', i);
  }
  return out;
}

export const signingOperations: OperationTable = {
  async PutSigningConfiguration(req) {
    const registry = privateRegistry(req);
    const rules = readRules(req.input);
    await req.ctx.store.mutate(() => {
      registry.settings ??= {};
      registry.settings.signingConfiguration = { rules, updatedAt: req.ctx.now() } satisfies StoredSigning;
    });
    // The signing root appears in <data>/signing/root.pem as soon as managed signing is on,
    // so that a trust store can be built before the first push.
    try {
      await (await loadSigner(req.ctx.store.dataDir)).ensureCertificates();
    } catch (err) {
      req.ctx.log(`creating the signing certificates failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { signingConfiguration: { rules } };
  },

  async GetSigningConfiguration(req) {
    const registry = privateRegistry(req);
    const stored = storedOf(registry);
    if (!stored) throw notFound(registry);
    return { registryId: registry.account, signingConfiguration: { rules: stored.rules } };
  },

  async DeleteSigningConfiguration(req) {
    const registry = privateRegistry(req);
    const stored = storedOf(registry);
    if (!stored) throw notFound(registry);
    await req.ctx.store.mutate(() => {
      const { signingConfiguration: _removed, ...rest } = registry.settings ?? {};
      registry.settings = rest;
    });
    return { registryId: registry.account, signingConfiguration: { rules: stored.rules } };
  },

  async DescribeImageSigningStatus(req) {
    const registry = privateRegistry(req);
    const repositoryName = reqStr(req.input, 'repositoryName', { min: 2, max: 256 });
    const imageId = obj(req.input, 'imageId', true) as { imageDigest?: string; imageTag?: string };
    const repo = requireRepository(registry, repositoryName);
    const image = resolveImage(repo, imageId);
    if (!image || image === 'mismatch') {
      throw new ApiError(
        'ImageNotFoundException',
        `The image with imageId {imageDigest:'${imageId.imageDigest ?? 'null'}', imageTag:'${imageId.imageTag ?? 'null'}'} does not exist within the repository with name '${repositoryName}' in the registry with id '${registry.account}'`,
      );
    }
    const signatures = signaturesOf(repo.images, image.digest);
    const stored = storedOf(registry);
    // Profiles whose rule covered this push (the configuration predates the image).
    const expected =
      stored && stored.updatedAt <= image.pushedAt && !image.subject ? profilesFor(stored, repositoryName) : [];
    const profiles = [...new Set([...signatures.keys(), ...expected])].filter((p) => p !== '');
    const signingStatuses = profiles.map((signingProfileArn) =>
      signatures.has(signingProfileArn)
        ? { signingProfileArn, status: 'COMPLETE' }
        : {
            signingProfileArn,
            status: 'FAILED',
            failureCode: 'SIGNATURE_NOT_FOUND',
            failureReason: `No signature of profile ${signingProfileArn} is attached to image ${image.digest}`,
          },
    );
    return {
      registryId: registry.account,
      repositoryName,
      imageId: { imageDigest: image.digest, ...(imageId.imageTag ? { imageTag: imageId.imageTag } : {}) },
      signingStatuses,
    };
  },
};

/**
 * Signs an image just pushed when a signing rule covers its repository: stores the JWS and
 * the empty config as blobs and the signature manifest as a referrer of the image. Referrers
 * themselves (manifests with a subject) and replicas are not signed. Failures are logged:
 * the push itself has succeeded, and the status then reports FAILED.
 */
export async function signOnPush(
  ctx: LocalContext,
  registry: RegistryRecord,
  repository: string,
  image: ImageRecord,
): Promise<void> {
  if (registry.kind !== 'private' || image.subject) return;
  const profiles = profilesFor(storedOf(registry), repository);
  for (const profile of profiles) {
    try {
      const repo = findRepository(registry, repository);
      if (!repo) return;
      if (signaturesOf(repo.images, image.digest).has(profile)) continue;
      const signer = await loadSigner(ctx.store.dataDir);
      const subject = { mediaType: image.mediaType, digest: image.digest, size: image.manifestSize };
      const envelope = await signer.envelope(subject, new Date(ctx.now()), profile);
      const { chain } = await signer.ensureCertificates();
      const envelopeDigest = await ctx.store.writeBlob(envelope);
      await ctx.store.writeBlob(Buffer.from('{}'));
      await ctx.store.mutate(() => {
        const current = findRepository(registry, repository);
        if (!current) return;
        current.blobs[envelopeDigest] = envelope.length;
        current.blobs[EMPTY_CONFIG.digest] = EMPTY_CONFIG.size;
      });
      const manifest = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        artifactType: NOTARY_SIGNATURE_TYPE,
        config: EMPTY_CONFIG,
        layers: [{ mediaType: JWS_MEDIA_TYPE, digest: envelopeDigest, size: envelope.length }],
        subject,
        annotations: {
          // The SHA-256 thumbprints of the chain in the envelope, leaf first, as notation writes them.
          'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify(
            chain.map((c) => createHash('sha256').update(c).digest('hex')),
          ),
          [SIGNING_PROFILE_ANNOTATION]: profile,
          'org.opencontainers.image.created': new Date(ctx.now()).toISOString(),
        },
      };
      await putManifest(ctx, { registry, repository, bytes: Buffer.from(JSON.stringify(manifest)), refuseNoop: false });
    } catch (err) {
      ctx.log(
        `signing ${repository}@${image.digest} with ${profile} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
