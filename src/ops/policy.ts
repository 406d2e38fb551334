// policy: repository policies and the registry policy (get, set, delete), a local check of a
// policy document (syntax with line and column, the 10,240-character limit, principals,
// actions, resources: every problem at once), and the templates for the common cases.
import {
  deleteRegistryPolicy,
  deleteRepositoryPolicy,
  getRegistryPolicyText,
  getRepositoryPolicyText,
  noPolicy,
  putRegistryPolicy,
  putRepositoryPolicy,
  type StoredPolicy,
} from '../ecr/policies.js';
import { RuleViolation, UsageError } from '../errors.js';
import { findTemplate, POLICY_TEMPLATES, type PolicyScope, validateResourcePolicy } from '../policy/iam.js';
import { type FileProblem, formatFileProblems, policyFileProblems } from '../policy/problems.js';
import type { Session } from '../session.js';
import { plural } from '../text.js';
import { ecrConnection } from './ecr.js';

export type { PolicyScope, StoredPolicy };

/** Which policy: a repository's, or (without `repository`) the registry policy. */
export interface PolicyTarget {
  /** The repository name, e.g. `team/app`; absent: the registry policy of the session's default registry. */
  repository?: string;
}

/** A policy document to check or set. */
export interface PolicyDocumentInput {
  /** The policy JSON. */
  text: string;
  /** How messages name the document: a file name, `-` for standard input (default: `the policy`). */
  source?: string;
}

/** Returns the repository policy, or the registry policy; NotFoundError when there is none. */
export async function getPolicy(session: Session, opts: PolicyTarget = {}): Promise<StoredPolicy> {
  const repo = opts.repository;
  const conn = await ecrConnection(session);
  const stored = repo !== undefined ? await getRepositoryPolicyText(conn, repo) : await getRegistryPolicyText(conn);
  if (!stored) {
    throw noPolicy(
      repo !== undefined
        ? `repository ${repo}`
        : `the registry${conn.registryId ? ` ${conn.registryId}` : ''} in ${conn.region}`,
      repo !== undefined
        ? `set one with \`ecrctl policy set ${repo} FILE\` (\`ecrctl policy template\` prints examples)`
        : 'set one with `ecrctl policy registry set FILE` (`ecrctl policy template replication` prints an example)',
    );
  }
  return stored;
}

/**
 * Checks a policy document and sets it as the repository (or registry) policy; RuleViolation
 * with every problem, and nothing sent, when it is not valid. Returns what ECR stored.
 */
export async function setPolicy(session: Session, opts: PolicyTarget & PolicyDocumentInput): Promise<StoredPolicy> {
  const repo = opts.repository;
  assertValidPolicy(opts, repo !== undefined ? 'repository' : 'registry');
  const conn = await ecrConnection(session);
  const stored =
    repo !== undefined ? await putRepositoryPolicy(conn, repo, opts.text) : await putRegistryPolicy(conn, opts.text);
  session.log.info(
    repo !== undefined
      ? `set the repository policy of ${repo}`
      : `set the registry policy of ${stored.registryId || 'the registry'}`,
  );
  return stored;
}

/** Deletes the repository (or registry) policy; NotFoundError when there is none. Returns the policy deleted. */
export async function deletePolicy(session: Session, opts: PolicyTarget = {}): Promise<StoredPolicy> {
  const repo = opts.repository;
  const conn = await ecrConnection(session);
  const stored = repo !== undefined ? await deleteRepositoryPolicy(conn, repo) : await deleteRegistryPolicy(conn);
  session.log.info(repo !== undefined ? `deleted the repository policy of ${repo}` : 'deleted the registry policy');
  return stored;
}

/** What validatePolicy accepts. */
export interface ValidatePolicyOptions extends PolicyDocumentInput {
  /** Check it as a repository policy (default) or as the registry policy. */
  scope?: PolicyScope;
}

/** A policy that passed every check. */
export interface ValidatePolicyResult {
  /** What it was checked as. */
  scope: PolicyScope;
  /** Always true: an invalid policy is a RuleViolation. */
  valid: true;
  /** Its length (ECR allows at most 10,240 characters). */
  characters: number;
}

/** Checks a policy document without sending it: RuleViolation with every problem. */
export async function validatePolicy(session: Session, opts: ValidatePolicyOptions): Promise<ValidatePolicyResult> {
  const scope = opts.scope ?? 'repository';
  assertValidPolicy(opts, scope);
  session.log.info(`${opts.source ?? 'the policy'}: a valid ${scope} policy`);
  return { scope, valid: true, characters: opts.text.length };
}

/**
 * Returns every problem of a policy document, sorted by position, in the shape every validator
 * prints (file, line, column, field, problem, fix); empty when ECR would accept it.
 */
export function policyDocumentProblems(doc: PolicyDocumentInput, scope: PolicyScope = 'repository'): FileProblem[] {
  return policyFileProblems(doc.source ?? 'the policy', validateResourcePolicy(doc.text, scope).problems);
}

/** Throws RuleViolation (exit 3) with every problem of a policy document, one line each in file order. */
function assertValidPolicy(doc: PolicyDocumentInput, scope: PolicyScope): void {
  const problems = policyDocumentProblems(doc, scope);
  if (problems.length > 0) {
    const name = doc.source === '-' ? 'the policy on standard input' : (doc.source ?? 'the policy');
    throw new RuleViolation(`${name} is not a valid ${scope} policy (${plural(problems.length, 'problem')})`, {
      problems: formatFileProblems(problems),
      fix: 'correct every problem listed, then run again; `ecrctl policy template` prints working examples',
    });
  }
}

/** What policyTemplate accepts. */
export interface PolicyTemplateOptions {
  /** The template name (see POLICY_TEMPLATES, e.g. `cross-account-pull`). */
  name: string;
  /** AWS account ids (12 digits) the template grants access to. */
  accounts?: readonly string[];
  /** IAM role ARNs the template grants access to. */
  roles?: readonly string[];
  /** pull-through-cache: the repository prefix of the cache rule. */
  prefix?: string;
  /** The region for ARNs the template writes (default: the session's region, else `*`). */
  region?: string;
  /** The account of the registry a registry policy goes on (default: the session's registryId, else `*`). */
  registryAccount?: string;
}

/** A filled-in policy template. */
export interface PolicyTemplateResult {
  /** The policy document. */
  document: unknown;
  /** Whether it is a repository or a registry policy. */
  scope: PolicyScope;
  /** The document as JSON, indented two spaces. */
  text: string;
}

/**
 * Fills in a policy template. UsageError for an unknown template; RuleViolation naming every
 * parameter that is missing or malformed. Logs how to set the policy.
 */
export async function policyTemplate(session: Session, opts: PolicyTemplateOptions): Promise<PolicyTemplateResult> {
  const { name } = opts;
  const template = findTemplate(name);
  if (!template) {
    throw new UsageError(`unknown policy template "${name}"`, {
      value: name,
      fix: `use one of ${POLICY_TEMPLATES.map((t) => t.name).join(', ')}`,
    });
  }
  const accounts = opts.accounts ?? [];
  const roles = opts.roles ?? [];
  const problems: string[] = [];
  for (const a of accounts) if (!/^[0-9]{12}$/.test(a)) problems.push(`--account ${a}: an account id is 12 digits`);
  for (const r of roles) {
    if (!/^arn:aws[a-z-]*:iam::[0-9]{12}:role\/.+$/.test(r))
      problems.push(`--role ${r}: a role ARN looks like arn:aws:iam::123456789012:role/NAME`);
  }
  const needsAccounts = /--account/.test(template.needs.split(';')[0] ?? '');
  const needsRoles = /--role/.test(template.needs.split(';')[0] ?? '');
  if (needsAccounts && accounts.length === 0) problems.push(`template ${name} needs --account ID (at least one)`);
  if (needsRoles && roles.length === 0) problems.push(`template ${name} needs --role ARN (at least one)`);
  // Missing or malformed arguments are usage mistakes (exit 2), every one listed.
  if (problems.length > 0) {
    throw new UsageError(`cannot fill template ${name}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      fix: `give ${template.needs}`,
    });
  }
  const region = opts.region ?? session.aws.region;
  const registryAccount = opts.registryAccount ?? session.aws.registryId;
  const document = template.build({
    accounts,
    roles,
    ...(region ? { region } : {}),
    ...(opts.prefix ? { prefix: opts.prefix } : {}),
    ...(registryAccount ? { registryAccount } : {}),
  });
  const text = JSON.stringify(document, null, 2);
  // A template that fails our own validator would be a bug: say so rather than return it.
  const check = validateResourcePolicy(text, template.scope);
  if (check.problems.length > 0)
    throw new RuleViolation(`template ${name} produced an invalid policy`, {
      problems: formatFileProblems(policyFileProblems(`template ${name}`, check.problems)),
    });
  session.log.info(
    template.scope === 'repository'
      ? `a repository policy: set it with \`ecrctl policy set REPO FILE\` (or pipe it into \`ecrctl policy set REPO -\`)`
      : 'a registry policy: set it with `ecrctl policy registry set FILE`',
  );
  return { document, scope: template.scope, text };
}
