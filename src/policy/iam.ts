// IAM for ECR, without I/O: the list of ECR actions, a validator for repository and registry
// policies that reports every problem at once (with line and column), templates for the
// common repository / registry policies, and the least-privilege identity policies for the
// ecrctl verbs — derived from the calls those verbs make (test/cli/iam-policy.test.ts proves
// the lists against `ecrctl local`'s record of calls).
import {
  type JsonEntry,
  type JsonNode,
  JsonSyntaxError,
  lineColumnOf,
  parseJsonWithPositions,
  toPlain,
} from './lifecycle/json.js';

/**
 * Every ECR API operation as an IAM action: the command names of the installed
 * @aws-sdk/client-ecr (test/policy/iam.test.ts checks this list against its commands/).
 */
export const ECR_API_ACTIONS = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchDeleteImage',
  'ecr:BatchGetImage',
  'ecr:BatchGetRepositoryScanningConfiguration',
  'ecr:CompleteLayerUpload',
  'ecr:CreatePullThroughCacheRule',
  'ecr:CreateRepository',
  'ecr:CreateRepositoryCreationTemplate',
  'ecr:DeleteLifecyclePolicy',
  'ecr:DeletePullThroughCacheRule',
  'ecr:DeleteRegistryPolicy',
  'ecr:DeleteRepository',
  'ecr:DeleteRepositoryCreationTemplate',
  'ecr:DeleteRepositoryPolicy',
  'ecr:DeleteSigningConfiguration',
  'ecr:DeregisterPullTimeUpdateExclusion',
  'ecr:DescribeImageReplicationStatus',
  'ecr:DescribeImageScanFindings',
  'ecr:DescribeImageSigningStatus',
  'ecr:DescribeImages',
  'ecr:DescribePullThroughCacheRules',
  'ecr:DescribeRegistry',
  'ecr:DescribeReplicationBackfillResults',
  'ecr:DescribeRepositories',
  'ecr:DescribeRepositoryCreationTemplates',
  'ecr:GetAccountSetting',
  'ecr:GetAuthorizationToken',
  'ecr:GetDownloadUrlForLayer',
  'ecr:GetLifecyclePolicy',
  'ecr:GetLifecyclePolicyPreview',
  'ecr:GetRegistryPolicy',
  'ecr:GetRegistryScanningConfiguration',
  'ecr:GetRepositoryPolicy',
  'ecr:GetSigningConfiguration',
  'ecr:InitiateLayerUpload',
  'ecr:ListImageReferrers',
  'ecr:ListImages',
  'ecr:ListPullTimeUpdateExclusions',
  'ecr:ListReplicationBackfills',
  'ecr:ListTagsForResource',
  'ecr:PutAccountSetting',
  'ecr:PutImage',
  'ecr:PutImageScanningConfiguration',
  'ecr:PutImageTagMutability',
  'ecr:PutLifecyclePolicy',
  'ecr:PutRegistryPolicy',
  'ecr:PutRegistryScanningConfiguration',
  'ecr:PutReplicationConfiguration',
  'ecr:PutSigningConfiguration',
  'ecr:RegisterPullTimeUpdateExclusion',
  'ecr:SetRepositoryPolicy',
  'ecr:StartImageScan',
  'ecr:StartLifecyclePolicyPreview',
  'ecr:StartReplicationBackfill',
  'ecr:StopReplicationBackfill',
  'ecr:TagResource',
  'ecr:UntagResource',
  'ecr:UpdateImageStorageClass',
  'ecr:UpdatePullThroughCacheRule',
  'ecr:UpdateRepositoryCreationTemplate',
  'ecr:UploadLayerPart',
  'ecr:ValidatePullThroughCacheRule',
] as const;

/**
 * Permission-only actions (no API operation of that name) that the ECR user guide documents:
 * replication into another account and pull-through cache imports.
 */
export const ECR_PERMISSION_ONLY_ACTIONS = ['ecr:BatchImportUpstreamImage', 'ecr:ReplicateImage'] as const;

/** Every action an ECR policy may name. */
export const ECR_ACTIONS: readonly string[] = [...ECR_API_ACTIONS, ...ECR_PERMISSION_ONLY_ACTIONS].sort();

/** The only actions ECR enforces in a registry policy (user guide, "Private registry permissions"). */
export const REGISTRY_POLICY_ACTIONS = [
  'ecr:BatchImportUpstreamImage',
  'ecr:CreateRepository',
  'ecr:ReplicateImage',
] as const;

/** Repository and registry policy text limit (ECR-FACTS.md). */
export const POLICY_MAX_CHARS = 10_240;

/** Which kind of resource policy is being checked. */
export type PolicyScope = 'repository' | 'registry';

/** One problem in a policy, located where it can be. */
export interface PolicyProblem {
  /** Where in the document: `Statement[1].Action[0]`, or `policy text`. */
  field: string;
  message: string;
  fix?: string;
  line?: number;
  column?: number;
}

/** Returns the problem as one line: `line 3, column 14: Statement[0].Effect: … (fix: …)`. */
export function formatPolicyProblem(p: PolicyProblem): string {
  const where = p.line !== undefined ? `line ${p.line}, column ${p.column}: ` : '';
  return `${where}${p.field}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`;
}

const STATEMENT_FIELDS = [
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
];
const PRINCIPAL_KEYS = ['AWS', 'Service', 'Federated', 'CanonicalUser'];
const ACCOUNT_ID = /^[0-9]{12}$/;
const IAM_ARN =
  /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:(?:iam|sts)::[0-9]{12}:(?:root|(?:user|role|group|assumed-role|federated-user)\/.+)$/;
const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$/;
const ECR_ARN = /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:ecr:(?:[a-z0-9-]+|\*):(?:[0-9]{12}|\*):repository\/.+$/;

/**
 * Parses and checks a repository or registry policy; returns the document only when there
 * are no problems. Checks syntax (line and column), the 10,240-character limit, the
 * statement fields, principals, actions (against ECR_ACTIONS) and resources.
 */
export function validateResourcePolicy(
  text: string,
  scope: PolicyScope,
): { policy?: unknown; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const at = lineColumnOf(text);
  if (text.length > POLICY_MAX_CHARS) {
    problems.push({
      field: 'policy text',
      message: `the policy is ${text.length} characters; ECR allows at most ${POLICY_MAX_CHARS}`,
      fix: 'remove whitespace, merge statements that share a principal, or use wildcards in Action',
    });
  }
  let root: JsonNode;
  try {
    root = parseJsonWithPositions(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    problems.push({
      field: 'policy text',
      message: `JSON syntax error: ${err.message}`,
      fix: 'correct the JSON at this position (`jq . FILE` shows the same spot)',
      ...at(err.offset),
    });
    return { problems };
  }
  const add = (field: string, node: { offset: number } | undefined, message: string, fix?: string) => {
    problems.push({ field, message, ...(fix ? { fix } : {}), ...(node ? at(node.offset) : {}) });
  };
  if (root.kind !== 'object') {
    add('policy text', root, 'a policy is a JSON object', 'write {"Version":"2012-10-17","Statement":[…]}');
    return { problems };
  }
  for (const e of root.entries) {
    if (!['Version', 'Id', 'Statement'].includes(e.key)) {
      add(
        e.key,
        { offset: e.keyOffset },
        `unknown top-level field "${e.key}"`,
        'a policy has Version, Id and Statement',
      );
    }
  }
  const version = entry(root, 'Version');
  if (version && !(version.value.kind === 'string' && ['2012-10-17', '2008-10-17'].includes(version.value.value))) {
    add(
      'Version',
      version.value,
      `Version must be "2012-10-17" (or the older "2008-10-17")`,
      'use "Version": "2012-10-17"',
    );
  }
  const statement = entry(root, 'Statement');
  if (!statement) {
    add(
      'Statement',
      root,
      'the policy has no Statement',
      'add "Statement": [{"Effect":"Allow","Principal":…,"Action":…}]',
    );
    return { problems };
  }
  const statements = statement.value.kind === 'array' ? statement.value.items : [statement.value];
  if (statements.length === 0)
    add('Statement', statement.value, 'the Statement list is empty', 'add at least one statement');
  const sids = new Map<string, number>();
  statements.forEach((s, i) => {
    const name = statement.value.kind === 'array' ? `Statement[${i}]` : 'Statement';
    checkStatement(s, name, scope, add, sids);
  });
  if (problems.length > 0) return { problems };
  return { policy: toPlain(root), problems };
}

type Add = (field: string, node: { offset: number } | undefined, message: string, fix?: string) => void;

function entry(node: JsonNode, key: string): JsonEntry | undefined {
  if (node.kind !== 'object') return undefined;
  // JSON.parse keeps the last of duplicate keys; so does ECR's parser.
  let found: JsonEntry | undefined;
  for (const e of node.entries) if (e.key === key) found = e;
  return found;
}

/** Returns the strings of a string-or-list node, reporting anything else. */
function stringsOf(node: JsonNode, field: string, add: Add): { value: string; node: JsonNode; field: string }[] {
  if (node.kind === 'string') return [{ value: node.value, node, field }];
  if (node.kind === 'array') {
    const out: { value: string; node: JsonNode; field: string }[] = [];
    if (node.items.length === 0) add(field, node, 'the list is empty');
    node.items.forEach((item, i) => {
      if (item.kind === 'string') out.push({ value: item.value, node: item, field: `${field}[${i}]` });
      else add(`${field}[${i}]`, item, 'must be a string');
    });
    return out;
  }
  add(field, node, 'must be a string or a list of strings');
  return [];
}

function checkStatement(s: JsonNode, name: string, scope: PolicyScope, add: Add, sids: Map<string, number>): void {
  if (s.kind !== 'object') {
    add(name, s, 'a statement is a JSON object');
    return;
  }
  for (const e of s.entries) {
    if (!STATEMENT_FIELDS.includes(e.key)) {
      add(
        `${name}.${e.key}`,
        { offset: e.keyOffset },
        `unknown statement field "${e.key}"`,
        `use one of ${STATEMENT_FIELDS.join(', ')}`,
      );
    }
  }
  const sid = entry(s, 'Sid');
  if (sid) {
    if (sid.value.kind !== 'string' || !/^[A-Za-z0-9]*$/.test(sid.value.value)) {
      add(`${name}.Sid`, sid.value, 'Sid may hold only letters and digits', 'e.g. "Sid": "AllowPull"');
    } else if (sid.value.value !== '') {
      if (sids.has(sid.value.value))
        add(`${name}.Sid`, sid.value, `Sid "${sid.value.value}" is used twice`, 'give every statement its own Sid');
      sids.set(sid.value.value, 1);
    }
  }
  const effect = entry(s, 'Effect');
  if (!effect) add(`${name}.Effect`, s, 'the statement has no Effect', 'add "Effect": "Allow" (or "Deny")');
  else if (effect.value.kind !== 'string' || !['Allow', 'Deny'].includes(effect.value.value)) {
    add(`${name}.Effect`, effect.value, 'Effect must be "Allow" or "Deny"');
  }

  const principal = entry(s, 'Principal') ?? entry(s, 'NotPrincipal');
  if (entry(s, 'Principal') && entry(s, 'NotPrincipal'))
    add(`${name}.NotPrincipal`, entry(s, 'NotPrincipal')?.value, 'use Principal or NotPrincipal, not both');
  if (!principal) {
    add(
      `${name}.Principal`,
      s,
      'a repository or registry policy statement needs a Principal',
      'add "Principal": {"AWS": "arn:aws:iam::123456789012:root"}',
    );
  } else {
    checkPrincipal(principal.value, `${name}.${principal.key}`, add);
  }

  const action = entry(s, 'Action') ?? entry(s, 'NotAction');
  if (entry(s, 'Action') && entry(s, 'NotAction'))
    add(`${name}.NotAction`, entry(s, 'NotAction')?.value, 'use Action or NotAction, not both');
  if (!action)
    add(
      `${name}.Action`,
      s,
      'the statement has no Action',
      'add "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]',
    );
  else
    for (const a of stringsOf(action.value, `${name}.${action.key}`, add))
      checkAction(a.value, a.node, a.field, scope, add);

  const resource = entry(s, 'Resource') ?? entry(s, 'NotResource');
  if (resource && scope === 'repository') {
    // ECR answers "Invalid repository policy provided": the repository is the resource.
    add(
      `${name}.${resource.key}`,
      { offset: resource.keyOffset },
      `ECR refuses a ${resource.key} element in a repository policy (the policy applies to its own repository)`,
      `remove "${resource.key}"; to cover other repositories, set a policy on each of them`,
    );
  } else if (resource) {
    for (const r of stringsOf(resource.value, `${name}.${resource.key}`, add)) {
      if (r.value !== '*' && !ECR_ARN.test(r.value)) {
        add(
          r.field,
          r.node,
          `"${r.value}" is not an ECR repository ARN`,
          'use arn:aws:ecr:REGION:ACCOUNT:repository/NAME (wildcards allowed), or "*"',
        );
      }
    }
  } else if (scope === 'registry') {
    add(
      `${name}.Resource`,
      s,
      'a registry policy statement needs a Resource',
      'add "Resource": "arn:aws:ecr:REGION:ACCOUNT:repository/*"',
    );
  }

  const condition = entry(s, 'Condition');
  if (condition) {
    if (condition.value.kind !== 'object')
      add(`${name}.Condition`, condition.value, 'Condition is an object of operators');
    else {
      for (const op of condition.value.entries) {
        if (!/^(?:ForAllValues:|ForAnyValue:)?[A-Za-z]+(?:IfExists)?$/.test(op.key)) {
          add(
            `${name}.Condition.${op.key}`,
            { offset: op.keyOffset },
            `"${op.key}" is not a condition operator`,
            'e.g. StringEquals, StringLike, ArnLike',
          );
        }
        if (op.value.kind !== 'object')
          add(`${name}.Condition.${op.key}`, op.value, 'a condition operator takes an object of keys and values');
      }
    }
  }
}

function checkPrincipal(node: JsonNode, field: string, add: Add): void {
  if (node.kind === 'string') {
    if (node.value !== '*') add(field, node, `Principal "${node.value}" must be "*" or an object such as {"AWS": …}`);
    return;
  }
  if (node.kind !== 'object') {
    add(field, node, 'Principal must be "*" or an object with AWS, Service, Federated or CanonicalUser');
    return;
  }
  if (node.entries.length === 0) add(field, node, 'Principal is empty');
  for (const e of node.entries) {
    const f = `${field}.${e.key}`;
    if (!PRINCIPAL_KEYS.includes(e.key)) {
      add(f, { offset: e.keyOffset }, `unknown principal type "${e.key}"`, `use one of ${PRINCIPAL_KEYS.join(', ')}`);
      continue;
    }
    for (const p of stringsOf(e.value, f, add)) {
      if (e.key === 'AWS' && !(p.value === '*' || ACCOUNT_ID.test(p.value) || IAM_ARN.test(p.value))) {
        add(
          p.field,
          p.node,
          `"${p.value}" is not an AWS principal`,
          'use a 12-digit account id, arn:aws:iam::ACCOUNT:root, or a role / user ARN',
        );
      }
      if (e.key === 'Service' && !SERVICE_PRINCIPAL.test(p.value)) {
        add(
          p.field,
          p.node,
          `"${p.value}" is not a service principal`,
          'e.g. lambda.amazonaws.com or codebuild.amazonaws.com',
        );
      }
    }
  }
}

function checkAction(action: string, node: JsonNode, field: string, scope: PolicyScope, add: Add): void {
  if (action === '*') return;
  if (!action.toLowerCase().startsWith('ecr:')) {
    add(
      field,
      node,
      `"${action}" is not an ECR action (an ECR ${scope} policy only governs ecr:* actions)`,
      'name ecr: actions only',
    );
    return;
  }
  const matches = actionsMatching(action);
  if (matches.length === 0) {
    const near = closestAction(action);
    add(
      field,
      node,
      `"${action}" is not an ECR action`,
      near ? `did you mean ${near}?` : '`ecrctl policy actions` lists them',
    );
    return;
  }
  if (
    scope === 'registry' &&
    !action.includes('*') &&
    !(REGISTRY_POLICY_ACTIONS as readonly string[]).includes(matches[0] as string)
  ) {
    add(
      field,
      node,
      `ECR refuses "${action}" in a registry policy: only ${REGISTRY_POLICY_ACTIONS.join(', ')} are allowed there`,
      'put repository actions in a repository policy (`ecrctl policy set REPO FILE`)',
    );
  }
}

/** Returns the ECR actions an action pattern (`ecr:Batch*`, case-insensitive like IAM) matches. */
export function actionsMatching(pattern: string): string[] {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return ECR_ACTIONS.filter((a) => re.test(a));
}

function closestAction(action: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const a of ECR_ACTIONS) {
    const d = editDistance(action.toLowerCase(), a.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = a;
    }
  }
  return bestDistance <= Math.max(3, Math.floor(action.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

// ---------------------------------------------------------------------------------------
// Identity policies for the ecrctl verbs.

/** A group of ecrctl verbs that a role runs. */
export type VerbGroup = 'pull' | 'push' | 'admin' | 'sync' | 'registry';
export const VERB_GROUPS: readonly VerbGroup[] = ['pull', 'push', 'admin', 'sync', 'registry'];

/** Which ecrctl verbs each group covers (shown by `iam-policy` and in the docs). */
export const GROUP_VERBS: Record<VerbGroup, string> = {
  pull: 'pull, inspect, tags, discover (and copy / tag-push reading from ECR)',
  push: 'tag-push, promote (--create-repo adds ecr:CreateRepository for tag-push --create-repo)',
  admin:
    'create-repo, repos, images, delete, delete-repo, lifecycle get|put|delete, policy get|set|delete, archive, restore',
  sync: 'sync plan|apply|check with ECR at the source, the target or both (the target repositories are created)',
  registry: 'account-setting get|set, pull-time-exclusion add|remove|list (registry-wide, on Resource "*")',
};

/**
 * The actions each group needs, as measured against `ecrctl local` (ecr:GetAuthorizationToken,
 * on "*", is added to every policy). Those in REGISTRY_WIDE_ACTIONS have no resource type
 * and are granted on "*"; the others on the repository ARNs.
 */
export const GROUP_ACTIONS: Record<VerbGroup, readonly string[]> = {
  pull: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:ListImageReferrers', 'ecr:ListImages'],
  push: [
    'ecr:BatchCheckLayerAvailability',
    'ecr:BatchGetImage',
    'ecr:CompleteLayerUpload',
    'ecr:DescribeImages',
    'ecr:DescribeRepositories',
    'ecr:InitiateLayerUpload',
    'ecr:PutImage',
    'ecr:UploadLayerPart',
  ],
  admin: [
    'ecr:BatchDeleteImage',
    'ecr:CreateRepository',
    'ecr:DeleteLifecyclePolicy',
    'ecr:DeleteRepository',
    'ecr:DeleteRepositoryPolicy',
    'ecr:DescribeImages',
    'ecr:DescribeRepositories',
    'ecr:GetLifecyclePolicy',
    'ecr:GetRepositoryPolicy',
    'ecr:ListTagsForResource',
    'ecr:PutImageScanningConfiguration',
    'ecr:PutImageTagMutability',
    'ecr:PutLifecyclePolicy',
    'ecr:SetRepositoryPolicy',
    'ecr:TagResource',
    'ecr:UpdateImageStorageClass',
  ],
  // Reading an ECR source (DescribeRepositories lists a prefix, DescribeImages dates the
  // tags for `since`) and writing an ECR target (its creation templates read, the
  // repository created with the configured settings, images pushed, tags last).
  sync: [
    'ecr:BatchCheckLayerAvailability',
    'ecr:BatchGetImage',
    'ecr:CompleteLayerUpload',
    'ecr:CreateRepository',
    'ecr:DescribeImages',
    'ecr:DescribeRepositories',
    'ecr:DescribeRepositoryCreationTemplates',
    'ecr:GetDownloadUrlForLayer',
    'ecr:InitiateLayerUpload',
    'ecr:ListImages',
    'ecr:PutImage',
    'ecr:UploadLayerPart',
  ],
  registry: [
    'ecr:DeregisterPullTimeUpdateExclusion',
    'ecr:GetAccountSetting',
    'ecr:ListPullTimeUpdateExclusions',
    'ecr:PutAccountSetting',
    'ecr:RegisterPullTimeUpdateExclusion',
  ],
};

/**
 * Actions with no resource type in IAM (they act on the registry or the account): a policy
 * grants them on Resource "*" — a repository ARN would never match them.
 */
export const REGISTRY_WIDE_ACTIONS: readonly string[] = [
  'ecr:DeregisterPullTimeUpdateExclusion',
  'ecr:DescribeRepositoryCreationTemplates',
  'ecr:GetAccountSetting',
  'ecr:GetAuthorizationToken',
  'ecr:ListPullTimeUpdateExclusions',
  'ecr:PutAccountSetting',
  'ecr:RegisterPullTimeUpdateExclusion',
];

/** What identityPolicy needs. */
export interface IdentityPolicyOptions {
  groups: readonly VerbGroup[];
  /** Repository name patterns (IAM wildcards `*` and `?`); default every repository. */
  repos?: readonly string[];
  /** Default `*`. */
  region?: string;
  /** Default `*`. */
  account?: string;
  /** push: add ecr:CreateRepository for `tag-push --create-repo`. */
  createRepo?: boolean;
  partition?: string;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: { Sid?: string; Effect: 'Allow' | 'Deny'; Action: string | string[]; Resource: string | string[] }[];
}

/** Returns every action the groups need (repository-scoped and registry-wide), sorted, without duplicates. */
export function actionsFor(groups: readonly VerbGroup[], opts: { createRepo?: boolean } = {}): string[] {
  const set = new Set<string>();
  for (const g of groups) for (const a of GROUP_ACTIONS[g]) set.add(a);
  if (opts.createRepo && groups.includes('push')) set.add('ecr:CreateRepository');
  return [...set].sort();
}

/** Returns the repository ARN for a name pattern. */
export function repositoryArnPattern(pattern: string, region = '*', account = '*', partition = 'aws'): string {
  return `arn:${partition}:ecr:${region}:${account}:repository/${pattern}`;
}

/**
 * Returns the least-privilege identity policy for a role that runs the verbs of groups:
 * GetAuthorizationToken on "*", the registry-wide actions (registry group) on "*", and the
 * repository actions on the repository ARNs.
 */
export function identityPolicy(opts: IdentityPolicyOptions): PolicyDocument {
  const repos = opts.repos && opts.repos.length > 0 ? [...new Set(opts.repos)] : ['*'];
  const resources = repos.map((r) =>
    repositoryArnPattern(r, opts.region ?? '*', opts.account ?? '*', opts.partition ?? 'aws'),
  );
  const all = actionsFor(opts.groups, opts.createRepo ? { createRepo: true } : {});
  const wide = all.filter((a) => REGISTRY_WIDE_ACTIONS.includes(a));
  const scoped = all.filter((a) => !REGISTRY_WIDE_ACTIONS.includes(a));
  const sid = opts.groups
    .filter((g) => g !== 'registry')
    .map((g) => g[0]?.toUpperCase() + g.slice(1))
    .join('');
  return {
    Version: '2012-10-17',
    Statement: [
      // GetAuthorizationToken has no resource type: it must be granted on "*".
      { Sid: 'EcrctlLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      ...(scoped.length > 0
        ? [
            {
              Sid: `Ecrctl${sid}`,
              Effect: 'Allow' as const,
              Action: scoped,
              Resource: resources.length === 1 ? (resources[0] as string) : resources,
            },
          ]
        : []),
      ...(wide.length > 0 ? [{ Sid: 'EcrctlRegistry', Effect: 'Allow' as const, Action: wide, Resource: '*' }] : []),
    ],
  };
}

/** Returns the verb group whose policy grants action (the smallest one), if any. */
export function groupForAction(action: string): VerbGroup | undefined {
  if (action === 'ecr:GetAuthorizationToken') return 'pull';
  return (
    VERB_GROUPS.find((g) => GROUP_ACTIONS[g].includes(action)) ??
    (action === 'ecr:CreateRepository' ? 'admin' : undefined)
  );
}

/**
 * Returns the IAM actions ECR authorises a recorded call with: `ecr:<Operation>` for API
 * calls, and for data-plane requests (`registry:<METHOD> <kind>`) the actions the ECR user
 * guide lists for docker push / pull. A PUT to an upload carries the last bytes and closes
 * the upload, so it needs both UploadLayerPart and CompleteLayerUpload.
 */
export function actionsForCall(call: string): string[] {
  if (call.startsWith('ecr:')) return [call];
  const m = /^registry:([A-Z]+) ([a-z]+)$/.exec(call);
  if (!m) return [];
  const [, method, kind] = m;
  switch (`${method} ${kind}`) {
    case 'HEAD blobs':
      return ['ecr:BatchCheckLayerAvailability'];
    case 'GET blobs':
      return ['ecr:GetDownloadUrlForLayer'];
    case 'HEAD manifests':
    case 'GET manifests':
      return ['ecr:BatchGetImage'];
    case 'POST uploads':
      return ['ecr:InitiateLayerUpload'];
    case 'PATCH uploads':
      return ['ecr:UploadLayerPart'];
    case 'PUT uploads':
      return ['ecr:UploadLayerPart', 'ecr:CompleteLayerUpload'];
    case 'PUT manifests':
      return ['ecr:PutImage'];
    case 'DELETE manifests':
      return ['ecr:BatchDeleteImage'];
    case 'GET tags':
      return ['ecr:ListImages'];
    case 'GET referrers':
      return ['ecr:BatchGetImage'];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------
// Resource policy templates.

/** Parameters a template takes. */
export interface TemplateParams {
  accounts: readonly string[];
  roles: readonly string[];
  /** Region for ARNs the template writes (default `*`). */
  region?: string;
  /** For pull-through-cache: the repository prefix (default ROOT = every repository). */
  prefix?: string;
  /** The account of the registry the policy goes on (registry policies; default `*`). */
  registryAccount?: string;
}

/** One policy template. */
export interface PolicyTemplate {
  name: string;
  scope: PolicyScope;
  summary: string;
  /** What the template needs from the command line, in words. */
  needs: string;
  build(p: TemplateParams): unknown;
}

const PULL = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const PUSH = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:CompleteLayerUpload',
  'ecr:GetDownloadUrlForLayer',
  'ecr:InitiateLayerUpload',
  'ecr:PutImage',
  'ecr:UploadLayerPart',
];

const accountPrincipals = (accounts: readonly string[]) => accounts.map((a) => `arn:aws:iam::${a}:root`);
const one = <T>(list: readonly T[]): T | T[] => (list.length === 1 ? (list[0] as T) : [...list]);

/** The templates `ecrctl policy template` prints, by name. */
export const POLICY_TEMPLATES: readonly PolicyTemplate[] = [
  {
    name: 'cross-account-pull',
    scope: 'repository',
    summary: 'other AWS accounts may pull images from this repository',
    needs: '--account ID (repeatable)',
    build: (p) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'CrossAccountPull',
          Effect: 'Allow',
          Principal: { AWS: one(accountPrincipals(p.accounts)) },
          Action: PULL,
        },
      ],
    }),
  },
  {
    name: 'lambda-pull',
    scope: 'repository',
    summary: 'Lambda functions of the given accounts may use images of this repository',
    needs: '--account ID (repeatable; the accounts whose functions pull)',
    // The user guide's Lambda statement: the service principal, limited by aws:sourceArn to
    // the functions of the named accounts, so no other account's function can pull.
    build: (p) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'LambdaECRImageRetrievalPolicy',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: PULL,
          Condition: {
            StringLike: {
              'aws:sourceArn': one(p.accounts.map((a) => `arn:aws:lambda:${p.region ?? '*'}:${a}:function:*`)),
            },
          },
        },
      ],
    }),
  },
  {
    name: 'ecs-pull',
    scope: 'repository',
    summary: 'ECS tasks pull with their task execution role (also for another account)',
    needs: '--role ARN (repeatable; the task execution roles)',
    build: (p) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EcsTaskExecutionPull',
          Effect: 'Allow',
          Principal: { AWS: one(p.roles) },
          Action: ['ecr:BatchCheckLayerAvailability', ...PULL],
        },
      ],
    }),
  },
  {
    name: 'codebuild-push',
    scope: 'repository',
    summary: 'a CodeBuild project pushes with its service role',
    needs: '--role ARN (repeatable; the CodeBuild service roles)',
    build: (p) => ({
      Version: '2012-10-17',
      Statement: [{ Sid: 'CodeBuildPush', Effect: 'Allow', Principal: { AWS: one(p.roles) }, Action: PUSH }],
    }),
  },
  {
    name: 'codebuild-pull',
    scope: 'repository',
    summary: 'CodeBuild may use an image of this repository as its build environment',
    needs: '--account ID (repeatable; the accounts whose projects pull)',
    build: (p) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'CodeBuildAccess',
          Effect: 'Allow',
          Principal: { Service: 'codebuild.amazonaws.com' },
          Action: PULL,
          Condition: {
            ArnLike: {
              'aws:SourceArn': one(p.accounts.map((a) => `arn:aws:codebuild:${p.region ?? '*'}:${a}:project/*`)),
            },
            StringEquals: { 'aws:SourceAccount': one(p.accounts) },
          },
        },
      ],
    }),
  },
  {
    name: 'github-actions-push',
    scope: 'repository',
    summary: 'a GitHub Actions workflow pushes with the role it assumes through OIDC',
    needs: '--role ARN (repeatable; the roles trusted for token.actions.githubusercontent.com)',
    build: (p) => ({
      Version: '2012-10-17',
      Statement: [{ Sid: 'GitHubActionsPush', Effect: 'Allow', Principal: { AWS: one(p.roles) }, Action: PUSH }],
    }),
  },
  {
    name: 'replication',
    scope: 'registry',
    summary: 'registry policy of a destination registry: source accounts may replicate into it',
    needs: '--account ID (repeatable; the source accounts); --registry-id names this registry',
    build: (p) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReplicationAccessCrossAccount',
          Effect: 'Allow',
          Principal: { AWS: one(accountPrincipals(p.accounts)) },
          Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
          Resource: repositoryArnPattern('*', p.region ?? '*', p.registryAccount ?? '*'),
        },
      ],
    }),
  },
  {
    name: 'pull-through-cache',
    scope: 'registry',
    summary: 'registry policy: roles may fill the pull-through cache (create the cached repositories, import images)',
    needs: '--role ARN (repeatable), --prefix PREFIX (default: every repository); --registry-id names this registry',
    build: (p) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PullThroughCacheFromReadOnlyRole',
          Effect: 'Allow',
          Principal: { AWS: one(p.roles) },
          Action: ['ecr:BatchImportUpstreamImage', 'ecr:CreateRepository'],
          Resource: repositoryArnPattern(
            p.prefix && p.prefix !== 'ROOT' ? `${p.prefix}/*` : '*',
            p.region ?? '*',
            p.registryAccount ?? '*',
          ),
        },
      ],
    }),
  },
];

/** Returns the template called name, if there is one. */
export function findTemplate(name: string): PolicyTemplate | undefined {
  return POLICY_TEMPLATES.find((t) => t.name === name);
}
