// iam-policy: the least-privilege IAM identity policy for a role that runs ecrctl verbs —
// the actions come from what the verbs really call, scoped to repository ARNs.
import { UsageError } from '../errors.js';
import { GROUP_VERBS, identityPolicy, type PolicyDocument, VERB_GROUPS, type VerbGroup } from '../policy/iam.js';
import type { Session } from '../session.js';

export type { PolicyDocument, VerbGroup };

/** What iamPolicy accepts. */
export interface IamPolicyOptions {
  /** Verb groups: `pull`, `push`, `admin`, `sync`, `registry` (see GROUP_VERBS for the verbs of each). */
  groups: readonly string[];
  /** Repository names or IAM wildcard patterns (`team/*`); default every repository. */
  repos?: readonly string[];
  /** The account that owns the repositories (12 digits or `*`; default: the session's registryId, else `*`). */
  account?: string;
  /** The region of the repositories (default: the session's region, else `*`). */
  region?: string;
  /** push: also allow ecr:CreateRepository (tag-push --create-repo). */
  createRepo?: boolean;
}

/** The policy and the groups it covers. */
export interface IamPolicyResult {
  /** The IAM identity policy document. */
  document: PolicyDocument;
  /** The groups, in the order pull, push, admin, sync, registry. */
  groups: VerbGroup[];
}

/**
 * Returns the IAM identity policy that allows exactly what the verbs of the groups call.
 * UsageError naming every unknown group and malformed account or pattern. Logs the verbs
 * each group covers.
 */
export async function iamPolicy(session: Session, opts: IamPolicyOptions): Promise<IamPolicyResult> {
  const { groups } = opts;
  const account = opts.account ?? session.aws.registryId;
  const region = opts.region ?? session.aws.region;
  const problems: string[] = [];
  for (const g of groups) {
    if (!(VERB_GROUPS as readonly string[]).includes(g)) {
      const near = VERB_GROUPS.find((v) => v.startsWith(g) || g.startsWith(v));
      problems.push(
        `"${g}" is not a verb group${near ? ` (did you mean ${near}?)` : ''}: use ${VERB_GROUPS.join(', ')}`,
      );
    }
  }
  if (account !== undefined && account !== '*' && !/^[0-9]{12}$/.test(account))
    problems.push(`--account ${account}: an account id is 12 digits`);
  for (const r of opts.repos ?? []) {
    if (!/^[a-z0-9*?][a-z0-9._/*?-]*$/.test(r))
      problems.push(`--repo ${r}: a repository pattern uses lowercase letters, digits, . _ - / and the wildcards * ?`);
  }
  if (opts.createRepo && !groups.includes('push')) problems.push('--create-repo goes with the push group');
  // Wrong arguments are usage mistakes (exit 2), every one listed at once.
  if (problems.length > 0) {
    throw new UsageError(`cannot build the IAM policy:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      fix: 'ecrctl iam-policy --help lists the groups and options',
    });
  }
  const chosen = VERB_GROUPS.filter((g) => groups.includes(g));
  const document = identityPolicy({
    groups: chosen,
    ...(opts.repos ? { repos: opts.repos } : {}),
    ...(region ? { region } : {}),
    ...(account ? { account } : {}),
    ...(opts.createRepo ? { createRepo: true } : {}),
  });
  for (const g of chosen) session.log.info(`${g}: ${GROUP_VERBS[g]}`);
  return { document, groups: chosen };
}
