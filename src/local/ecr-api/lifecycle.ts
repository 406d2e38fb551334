// Lifecycle policy operations of the API: Put/Get/DeleteLifecyclePolicy,
// StartLifecyclePolicyPreview and GetLifecyclePolicyPreview, plus applying the policies on
// demand (LocalServer.applyLifecyclePolicies). Validation and evaluation are the pure engine
// of src/policy/lifecycle, so the emulator decides exactly what `ecrctl lifecycle simulate`
// decides for the same images.
import {
  type LifecycleDecision,
  type LifecycleImage,
  type LifecyclePolicy,
  parseLifecyclePolicy,
  simulateLifecycle,
} from '../../policy/lifecycle/index.js';
import type { LocalContext } from '../context.js';
import { ApiError, invalidParameter } from '../errors.js';
import { pushOrderKey, referencingIndexes, removeImage, tagsOf } from '../images.js';
import type { RegistryRecord, RepositoryRecord } from '../store.js';
import { ARCHIVE_MINIMUM_MS, stateElapsed } from '../state-delays.js';
import {
  type ApiRequest,
  int,
  list,
  obj,
  type OperationTable,
  page,
  privateRegistry,
  reqStr,
  requireRepository,
  sortable,
  str,
  ts,
} from './kit.js';

/** ECR's minimum storage duration of an archived image, in days. */
const ARCHIVE_MINIMUM_DAYS = ARCHIVE_MINIMUM_MS / (24 * 3600 * 1000);

// The API model's limits of lifecyclePolicyText.
const POLICY_MIN = 100;
const POLICY_MAX = 30_720;

/** Returns the images of a repository as the lifecycle engine sees them. */
export function lifecycleImagesOf(repo: RepositoryRecord): LifecycleImage[] {
  return Object.values(repo.images).map((image) => {
    const li: LifecycleImage = {
      digest: image.digest,
      tags: tagsOf(repo, image.digest),
      pushedAt: new Date(image.pushedAt),
      // The emulator keeps every image in the standard storage class (no archive tier).
      storageClass: 'standard',
      sizeBytes: image.size,
    };
    if (image.lastPulledAt !== undefined) li.lastPulledAt = new Date(image.lastPulledAt);
    const refs = referencingIndexes(repo, image.digest);
    if (refs.length > 0) li.referencedBy = refs;
    return li;
  });
}

/** Returns the policy in text, or throws ECR's InvalidParameterException with the first problem. */
function parsePolicyOrThrow(text: string): LifecyclePolicy {
  const { policy, problems } = parseLifecyclePolicy(text);
  const first = problems[0];
  if (!policy || first) {
    // ECR names one problem at a time; the CLI validates locally and names them all.
    throw invalidParameter(
      'LifecyclePolicyText',
      `Lifecycle policy validation failure: ${first?.message ?? 'invalid policy'}`,
    );
  }
  // ECR's 90-day minimum storage duration for archived images: a policy may not expire an
  // archived image sooner (the ECR user guide, "Archiving an image"); no API field reports it.
  const early = policy.rules.find(
    (r) =>
      r.action.type === 'expire' &&
      r.selection.countType === 'sinceImageTransitioned' &&
      r.selection.countNumber < ARCHIVE_MINIMUM_DAYS,
  );
  if (early) {
    throw invalidParameter(
      'LifecyclePolicyText',
      `Lifecycle policy validation failure: rule ${early.rulePriority} expires archived images after ${early.selection.countNumber} days; archived images have a minimum storage duration of ${ARCHIVE_MINIMUM_DAYS} days, so countNumber must be at least ${ARCHIVE_MINIMUM_DAYS}`,
    );
  }
  return policy;
}

function policyText(req: ApiRequest, required: boolean): string | undefined {
  return str(req.input, 'lifecyclePolicyText', { required, min: POLICY_MIN, max: POLICY_MAX });
}

function policyNotFound(registry: RegistryRecord, name: string): ApiError {
  return new ApiError(
    'LifecyclePolicyNotFoundException',
    `Lifecycle policy does not exist for the repository with name '${name}' in the registry with id '${registry.account}'`,
  );
}

/** Returns an action as GetLifecyclePolicyPreview spells it. */
function previewAction(d: LifecycleDecision) {
  return d.action === 'transition' ? { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' } : { type: 'EXPIRE' };
}

export const lifecycleOperations: OperationTable = {
  async PutLifecyclePolicy(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const text = policyText(req, true) as string;
    requireRepository(registry, name);
    parsePolicyOrThrow(text);
    return req.ctx.store.mutate(() => {
      const repo = requireRepository(registry, name);
      repo.lifecyclePolicyText = text;
      return { registryId: registry.account, repositoryName: name, lifecyclePolicyText: text };
    });
  },

  async GetLifecyclePolicy(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const repo = requireRepository(registry, name);
    if (repo.lifecyclePolicyText === undefined) throw policyNotFound(registry, name);
    return {
      registryId: registry.account,
      repositoryName: name,
      lifecyclePolicyText: repo.lifecyclePolicyText,
      ...(repo.lifecycleEvaluatedAt !== undefined ? { lastEvaluatedAt: ts(repo.lifecycleEvaluatedAt) } : {}),
    };
  },

  async DeleteLifecyclePolicy(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    requireRepository(registry, name);
    return req.ctx.store.mutate(() => {
      const repo = requireRepository(registry, name);
      const text = repo.lifecyclePolicyText;
      if (text === undefined) throw policyNotFound(registry, name);
      const evaluated = repo.lifecycleEvaluatedAt;
      delete repo.lifecyclePolicyText;
      delete repo.lifecycleEvaluatedAt;
      return {
        registryId: registry.account,
        repositoryName: name,
        lifecyclePolicyText: text,
        ...(evaluated !== undefined ? { lastEvaluatedAt: ts(evaluated) } : {}),
      };
    });
  },

  async StartLifecyclePolicyPreview(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const given = policyText(req, false);
    const repo = requireRepository(registry, name);
    const text = given ?? repo.lifecyclePolicyText;
    if (text === undefined) throw policyNotFound(registry, name);
    parsePolicyOrThrow(text);
    return req.ctx.store.mutate(() => {
      const r = requireRepository(registry, name);
      r.lifecyclePreview = { policyText: text, startedAt: req.ctx.now() };
      return { registryId: registry.account, repositoryName: name, lifecyclePolicyText: text, status: 'IN_PROGRESS' };
    });
  },

  async GetLifecyclePolicyPreview(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    // ECR's limits for this operation are tighter than the shared page reader's.
    int(req.input, 'maxResults', 1, 100);
    const ids = list<Record<string, unknown>>(req.input, 'imageIds', { min: 1, max: 100 });
    const filter = obj(req.input, 'filter');
    const tagStatus = filter ? (str(filter, 'tagStatus') ?? 'ANY') : 'ANY';
    if (!['ANY', 'TAGGED', 'UNTAGGED'].includes(tagStatus)) {
      throw invalidParameter('filter.tagStatus', 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]');
    }
    if (ids && (req.input.maxResults !== undefined || req.input.nextToken !== undefined)) {
      throw new ApiError(
        'InvalidParameterException',
        'Invalid parameter: maxResults and nextToken cannot be used with imageIds',
      );
    }
    const repo = requireRepository(registry, name);
    const preview = repo.lifecyclePreview;
    if (!preview) {
      throw new ApiError(
        'LifecyclePolicyPreviewNotFoundException',
        `There is no dry run for the repository with name '${name}' in the registry with id '${registry.account}'`,
      );
    }
    const head = { registryId: registry.account, repositoryName: name, lifecyclePolicyText: preview.policyText };
    if (!stateElapsed(req.ctx, 'lifecyclePreview', preview.startedAt)) {
      // ECR evaluates a preview asynchronously: it runs for a while on the endpoint's clock
      // (state-delays.ts), however often a client looks, so polling paths are exercised for real.
      return { ...head, status: 'IN_PROGRESS' };
    }
    const policy = parsePolicyOrThrow(preview.policyText);
    const images = new Map(Object.values(repo.images).map((i) => [i.digest, i]));
    let decisions = simulateLifecycle(policy, lifecycleImagesOf(repo), new Date(preview.startedAt)).filter(
      (d) => d.action !== 'keep',
    );
    const summary = {
      expiringImageTotalCount: decisions.filter((d) => d.action === 'expire').length,
      transitioningImageTotalCounts: [
        { targetStorageClass: 'ARCHIVE', imageTotalCount: decisions.filter((d) => d.action === 'transition').length },
      ],
    };
    if (tagStatus !== 'ANY') decisions = decisions.filter((d) => d.tags.length > 0 === (tagStatus === 'TAGGED'));
    if (ids) {
      const wanted = (d: LifecycleDecision) =>
        ids.some(
          (id) =>
            (id.imageDigest !== undefined && id.imageDigest === d.digest) ||
            (typeof id.imageTag === 'string' && d.tags.includes(id.imageTag)),
        );
      decisions = decisions.filter(wanted);
    }
    const keyOf = (d: LifecycleDecision) => {
      const image = images.get(d.digest);
      return `${sortable(d.rulePriority ?? 0)}|${image ? pushOrderKey(image) : d.digest}`;
    };
    const p = ids ? { items: decisions } : page(decisions, keyOf, req.input, 100);
    return {
      ...head,
      status: 'COMPLETE',
      previewResults: p.items.map((d) => {
        const image = images.get(d.digest);
        return {
          ...(d.tags.length > 0 ? { imageTags: d.tags } : {}),
          imageDigest: d.digest,
          imagePushedAt: ts(image?.pushedAt),
          action: previewAction(d),
          appliedRulePriority: d.rulePriority,
          storageClass: 'STANDARD',
        };
      }),
      ...('nextToken' in p && p.nextToken ? { nextToken: p.nextToken } : {}),
      summary,
    };
  },
};

/** What applying the lifecycle policies did to one repository. */
export interface AppliedLifecycle {
  registryId: string;
  region: string;
  repository: string;
  /** Images deleted, with the tags they had. */
  expired: { digest: string; tags: string[] }[];
  /** Images a transition rule selected; the emulator has no archive tier, so they stay as they are. */
  transitionsSkipped: string[];
}

/**
 * Runs every private repository's lifecycle policy at `now` (default: the server clock) and
 * deletes the images it expires — exactly the ones a preview would list — and records
 * lastEvaluatedAt. Resolves once the change is on disk.
 */
export async function applyLifecyclePolicies(ctx: LocalContext, now?: Date): Promise<AppliedLifecycle[]> {
  const at = now ?? new Date(ctx.now());
  return ctx.store.mutate((state) => {
    const out: AppliedLifecycle[] = [];
    for (const registry of Object.values(state.registries)) {
      if (registry.kind !== 'private') continue;
      for (const repo of Object.values(registry.repositories)) {
        if (repo.lifecyclePolicyText === undefined) continue;
        const { policy } = parseLifecyclePolicy(repo.lifecyclePolicyText);
        repo.lifecycleEvaluatedAt = at.getTime();
        if (!policy) continue;
        const decisions = simulateLifecycle(policy, lifecycleImagesOf(repo), at);
        const result: AppliedLifecycle = {
          registryId: registry.account,
          region: registry.region,
          repository: repo.name,
          expired: [],
          transitionsSkipped: [],
        };
        for (const d of decisions) {
          if (d.action === 'expire') {
            result.expired.push({ digest: d.digest, tags: removeImage(repo, d.digest) });
          } else if (d.action === 'transition') {
            result.transitionsSkipped.push(d.digest);
          }
        }
        out.push(result);
      }
    }
    return out;
  });
}
