// Pull-time update exclusions: RegisterPullTimeUpdateExclusion,
// DeregisterPullTimeUpdateExclusion, ListPullTimeUpdateExclusions. A principal on the list
// reads manifests (BatchGetImage) without ECR recording a pull — what read-only tooling
// needs so that it does not make images look recently pulled. Requests are matched by the
// principal images.ts derives from the access key (principalArnOf).
import { ApiError, invalidParameter } from '../errors.js';
import { PULL_TIME_EXCLUSIONS_KEY, type PullTimeExclusion, pullTimeExclusions } from '../images.js';
import { type OperationTable, page, privateRegistry, reqStr, sortable, ts } from './kit.js';

/** An IAM user or role ARN, in any partition (ECR takes principals, not groups or policies). */
const PRINCIPAL_ARN =
  /^arn:aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:iam::[0-9]{12}:(user|role)\/[\w+=,.@/-]{1,512}$/;

function principalOf(input: Record<string, unknown>): string {
  const arn = reqStr(input, 'principalArn', { min: 1, max: 2048 });
  if (!PRINCIPAL_ARN.test(arn)) {
    throw invalidParameter('principalArn', 'must be the ARN of an IAM user or role (arn:aws:iam::ACCOUNT:role/NAME)');
  }
  return arn;
}

export const pullTimeOperations: OperationTable = {
  async RegisterPullTimeUpdateExclusion(req) {
    const registry = privateRegistry(req);
    const principalArn = principalOf(req.input);
    const entry = await req.ctx.store.mutate(() => {
      const list = pullTimeExclusions(registry);
      if (list.some((e) => e.principalArn === principalArn)) {
        throw new ApiError(
          'ExclusionAlreadyExistsException',
          `The principal '${principalArn}' is already on the pull time update exclusion list of the registry with id '${registry.account}'`,
        );
      }
      const added: PullTimeExclusion = { principalArn, createdAt: req.ctx.now() };
      registry.settings = { ...registry.settings, [PULL_TIME_EXCLUSIONS_KEY]: [...list, added] };
      return added;
    });
    return { principalArn: entry.principalArn, createdAt: ts(entry.createdAt) };
  },

  async DeregisterPullTimeUpdateExclusion(req) {
    const registry = privateRegistry(req);
    const principalArn = principalOf(req.input);
    const list = pullTimeExclusions(registry);
    if (!list.some((e) => e.principalArn === principalArn)) {
      throw new ApiError(
        'ExclusionNotFoundException',
        `The principal '${principalArn}' is not on the pull time update exclusion list of the registry with id '${registry.account}'`,
      );
    }
    await req.ctx.store.mutate(() => {
      registry.settings = {
        ...registry.settings,
        [PULL_TIME_EXCLUSIONS_KEY]: pullTimeExclusions(registry).filter((e) => e.principalArn !== principalArn),
      };
    });
    return { principalArn };
  },

  async ListPullTimeUpdateExclusions(req) {
    const registry = privateRegistry(req);
    const p = page(pullTimeExclusions(registry), (e) => `${sortable(e.createdAt)}|${e.principalArn}`, req.input);
    return {
      pullTimeUpdateExclusions: p.items.map((e) => e.principalArn),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },
};
