// `ecrctl policy`: repository policies (get / set / delete REPO), the registry policy
// (`policy registry get|set|delete`), templates for the common cases, a local validator and
// the list of ECR actions. `set` checks the whole document first (syntax with line and column,
// the 10,240-character limit, principals, actions, resources) and reports every problem at once.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';

type Scope = 'repository' | 'registry';

/** Declares `ecrctl policy`. */
export function definePolicy(program: Command, host: CommandHost): void {
  const policy = program
    .command('policy')
    .summary('repository and registry policies: get, set (validated), delete, templates')
    .description(
      'Reads, sets and deletes ECR repository policies and the registry policy. Before a policy is\n' +
        'set, ecrctl checks it: JSON syntax (with line and column), the 10,240-character limit,\n' +
        'Effect, Principal, and every Action against the list of ECR actions; all problems are\n' +
        'reported at once (exit 3) and nothing is sent. `policy template` prints ready policies\n' +
        'for cross-account, Lambda, ECS, CodeBuild, GitHub Actions, replication and pull-through cache.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl policy template cross-account-pull --account 111122223333 > policy.json',
        'ecrctl policy set team/app policy.json',
        'ecrctl policy get team/app',
        'ecrctl policy registry set registry-policy.json',
      ),
    );

  policy
    .command('get')
    .summary('print the repository policy')
    .argument('<repo>', 'repository name')
    .addHelpText('after', examples('ecrctl policy get team/app', 'ecrctl policy get team/app -o json'))
    .action(async (repo: string, _opts: unknown, cmd: Command) => {
      await runGet(host.context(cmd), 'repository', repo);
    });
  policy
    .command('set')
    .summary('validate a policy file and set it as the repository policy')
    .argument('<repo>', 'repository name')
    .argument('<file>', 'policy JSON file, or - for standard input')
    .addHelpText(
      'after',
      examples(
        'ecrctl policy set team/app policy.json',
        'ecrctl policy template ecs-pull --role ARN | ecrctl policy set team/app -',
      ),
    )
    .action(async (repo: string, file: string, _opts: unknown, cmd: Command) => {
      await runSet(host.context(cmd), 'repository', file, repo);
    });
  policy
    .command('delete')
    .summary('delete the repository policy')
    .argument('<repo>', 'repository name')
    .action(async (repo: string, _opts: unknown, cmd: Command) => {
      await runDelete(host.context(cmd), 'repository', repo);
    });

  const registry = policy
    .command('registry')
    .summary('the registry policy (replication and pull-through cache permissions)')
    .description(
      'The registry policy grants other accounts or roles the registry-level actions ECR enforces:\n' +
        'ecr:ReplicateImage, ecr:BatchImportUpstreamImage and ecr:CreateRepository.',
    );
  registry
    .command('get')
    .summary('print the registry policy')
    .action(async (_opts: unknown, cmd: Command) => {
      await runGet(host.context(cmd), 'registry');
    });
  registry
    .command('set')
    .summary('validate a policy file and set it as the registry policy')
    .argument('<file>', 'policy JSON file, or - for standard input')
    .addHelpText(
      'after',
      examples(
        'ecrctl policy template replication --account 111122223333 --registry-id 444455556666 | ecrctl policy registry set -',
      ),
    )
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      await runSet(host.context(cmd), 'registry', file);
    });
  registry
    .command('delete')
    .summary('delete the registry policy')
    .action(async (_opts: unknown, cmd: Command) => {
      await runDelete(host.context(cmd), 'registry');
    });

  policy
    .command('validate')
    .summary('check a policy file without sending it (exit 3 with every problem)')
    .argument('<file>', 'policy JSON file, or - for standard input')
    .option('--registry', 'check it as a registry policy (default: repository policy)')
    .action(async (file: string, opts: { registry?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      const scope: Scope = opts.registry ? 'registry' : 'repository';
      const { text } = await readPolicy(ctx, file, scope);
      ctx.log.info(`${file}: a valid ${scope} policy`);
      render(
        ctx,
        { file, scope, valid: true, characters: text.length },
        { env: (d) => ({ POLICY_VALID: String(d.valid) }) },
      );
    });

  policy
    .command('template')
    .summary('print a policy for a common case (no NAME: list the templates)')
    .argument('[name]', 'template name')
    .option('--account <id>', 'an AWS account id (repeatable)', collect)
    .option('--role <arn>', 'an IAM role ARN (repeatable)', collect)
    .option('--prefix <prefix>', 'pull-through-cache: the repository prefix of the cache rule')
    .addHelpText(
      'after',
      examples(
        'ecrctl policy template',
        'ecrctl policy template cross-account-pull --account 111122223333 --account 444455556666',
        'ecrctl policy template lambda-pull --account 111122223333 --region eu-west-1',
        'ecrctl policy template github-actions-push --role arn:aws:iam::111122223333:role/gha-push',
      ),
    )
    .action(
      async (
        name: string | undefined,
        opts: { account?: string[]; role?: string[]; prefix?: string },
        cmd: Command,
      ) => {
        await runTemplate(host.context(cmd), name, opts);
      },
    );

  policy
    .command('actions')
    .summary('list the ECR actions a policy may name')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { ECR_ACTIONS } = await import('../../policy/iam.js');
      render(
        ctx,
        { actions: [...ECR_ACTIONS] },
        { text: (d) => d.actions.join('\n'), env: (d) => ({ ECR_ACTIONS: d.actions.join(',') }) },
      );
    });
}

/** Reads a policy file (or stdin) and validates it; throws RuleViolation (exit 3) with every problem. */
async function readPolicy(ctx: CliContext, file: string, scope: Scope): Promise<{ text: string }> {
  const { UsageError, RuleViolation } = await import('../../errors.js');
  const { validateResourcePolicy, formatPolicyProblem } = await import('../../policy/iam.js');
  let text: string;
  if (file === '-') text = await ctx.readStdin();
  else {
    try {
      text = await readFile(path.resolve(ctx.cwd, file), 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read the policy file ${file}: ${(err as Error).message}`, {
        value: file,
        fix: 'check the path',
      });
    }
  }
  const { problems } = validateResourcePolicy(text, scope);
  if (problems.length > 0) {
    throw new RuleViolation(
      `${file === '-' ? 'the policy on standard input' : file} is not a valid ${scope} policy (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      {
        problems: problems.map(formatPolicyProblem),
        fix: 'correct every problem listed, then run again; `ecrctl policy template` prints working examples',
      },
    );
  }
  return { text };
}

async function connect(ctx: CliContext) {
  return (await import('../ecr-ref.js')).ecrConnection(ctx);
}

/** Returns the policy text pretty-printed when it is JSON (as stored otherwise). */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function runGet(ctx: CliContext, scope: Scope, repo?: string): Promise<void> {
  const ecr = await import('../../ecr/policies.js');
  const conn = await connect(ctx);
  const stored =
    scope === 'repository'
      ? await ecr.getRepositoryPolicyText(conn, repo as string)
      : await ecr.getRegistryPolicyText(conn);
  if (!stored) {
    throw ecr.noPolicy(
      scope === 'repository'
        ? `repository ${repo}`
        : `the registry${conn.registryId ? ` ${conn.registryId}` : ''} in ${conn.region}`,
      scope === 'repository'
        ? `set one with \`ecrctl policy set ${repo} FILE\` (\`ecrctl policy template\` prints examples)`
        : 'set one with `ecrctl policy registry set FILE` (`ecrctl policy template replication` prints an example)',
    );
  }
  render(
    ctx,
    { ...(repo ? { repository: repo } : {}), registryId: stored.registryId, policy: parsed(stored.text) },
    { text: () => pretty(stored.text), env: () => ({ POLICY_TEXT: stored.text, REGISTRY_ID: stored.registryId }) },
  );
}

async function runSet(ctx: CliContext, scope: Scope, file: string, repo?: string): Promise<void> {
  const { text } = await readPolicy(ctx, file, scope);
  const ecr = await import('../../ecr/policies.js');
  const conn = await connect(ctx);
  const stored =
    scope === 'repository'
      ? await ecr.putRepositoryPolicy(conn, repo as string, text)
      : await ecr.putRegistryPolicy(conn, text);
  ctx.log.info(
    scope === 'repository'
      ? `set the repository policy of ${repo}`
      : `set the registry policy of ${stored.registryId || 'the registry'}`,
  );
  render(ctx, { ...(repo ? { repository: repo } : {}), registryId: stored.registryId, status: 'set' }, {});
}

async function runDelete(ctx: CliContext, scope: Scope, repo?: string): Promise<void> {
  const ecr = await import('../../ecr/policies.js');
  const conn = await connect(ctx);
  const stored =
    scope === 'repository'
      ? await ecr.deleteRepositoryPolicy(conn, repo as string)
      : await ecr.deleteRegistryPolicy(conn);
  ctx.log.info(scope === 'repository' ? `deleted the repository policy of ${repo}` : 'deleted the registry policy');
  render(
    ctx,
    {
      ...(repo ? { repository: repo } : {}),
      registryId: stored.registryId,
      status: 'deleted',
      policy: parsed(stored.text),
    },
    {},
  );
}

async function runTemplate(
  ctx: CliContext,
  name: string | undefined,
  opts: { account?: string[]; role?: string[]; prefix?: string },
): Promise<void> {
  const { POLICY_TEMPLATES, findTemplate, validateResourcePolicy, formatPolicyProblem } = await import(
    '../../policy/iam.js'
  );
  const { UsageError, RuleViolation } = await import('../../errors.js');
  if (name === undefined) {
    render(
      ctx,
      {
        templates: POLICY_TEMPLATES.map((t) => ({ name: t.name, scope: t.scope, summary: t.summary, needs: t.needs })),
      },
      {
        text: (d) =>
          d.templates
            .map((t) => `${t.name.padEnd(20)} ${t.scope.padEnd(10)} ${t.summary}\n${' '.repeat(32)}needs ${t.needs}`)
            .join('\n'),
      },
    );
    return;
  }
  const template = findTemplate(name);
  if (!template) {
    throw new UsageError(`unknown policy template "${name}"`, {
      value: name,
      fix: `use one of ${POLICY_TEMPLATES.map((t) => t.name).join(', ')}`,
    });
  }
  const accounts = opts.account ?? [];
  const roles = opts.role ?? [];
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
  if (problems.length > 0) {
    throw new RuleViolation(`cannot fill template ${name}`, { problems, fix: `give ${template.needs}` });
  }
  const doc = template.build({
    accounts,
    roles,
    ...(ctx.globals.region ? { region: ctx.globals.region } : {}),
    ...(opts.prefix ? { prefix: opts.prefix } : {}),
    ...(ctx.globals.registryId ? { registryAccount: ctx.globals.registryId } : {}),
  });
  const text = JSON.stringify(doc, null, 2);
  // A template that fails our own validator would be a bug: say so rather than print it.
  const check = validateResourcePolicy(text, template.scope);
  if (check.problems.length > 0)
    throw new RuleViolation(`template ${name} produced an invalid policy`, {
      problems: check.problems.map(formatPolicyProblem),
    });
  ctx.log.info(
    template.scope === 'repository'
      ? `a repository policy: set it with \`ecrctl policy set REPO FILE\` (or pipe it into \`ecrctl policy set REPO -\`)`
      : 'a registry policy: set it with `ecrctl policy registry set FILE`',
  );
  render(ctx, doc, {
    text: () => text,
    env: () => ({ POLICY_TEXT: JSON.stringify(doc), POLICY_SCOPE: template.scope }),
  });
}
