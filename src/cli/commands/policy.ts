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
      const text = await readPolicyFile(ctx, file);
      const { validatePolicy, policyDocumentProblems } = await import('../../ops/policy.js');
      if (ctx.globals.output === 'json') {
        // JSON: the problems in the shape every validator prints, then exit 3 as in text.
        const problems = policyDocumentProblems({ text, source: file }, scope);
        if (problems.length > 0) render(ctx, { file, scope, valid: false, characters: text.length, problems });
      }
      const result = await validatePolicy(ctx, { text, source: file, scope });
      render(ctx, { file, ...result, problems: [] }, { env: (d) => ({ POLICY_VALID: String(d.valid) }) });
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

/** Returns the text of a policy file, or of standard input for `-`. */
async function readPolicyFile(ctx: CliContext, file: string): Promise<string> {
  if (file === '-') return ctx.readStdin();
  try {
    return await readFile(path.resolve(ctx.cwd, file), 'utf8');
  } catch (err) {
    const { UsageError } = await import('../../errors.js');
    throw new UsageError(`cannot read the policy file ${file}: ${(err as Error).message}`, {
      value: file,
      fix: 'check the path',
    });
  }
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

/** Returns the op's target: the repository, or nothing for the registry policy. */
function target(scope: Scope, repo?: string): { repository?: string } {
  return scope === 'repository' ? { repository: repo as string } : {};
}

async function runGet(ctx: CliContext, scope: Scope, repo?: string): Promise<void> {
  const { getPolicy } = await import('../../ops/policy.js');
  const stored = await getPolicy(ctx, target(scope, repo));
  const policy = parsed(stored.text);
  // POLICY_TEXT is the document on one line (what a stored policy looks like in any spacing).
  const text = typeof policy === 'string' ? policy : JSON.stringify(policy);
  render(
    ctx,
    { ...(repo ? { repository: repo } : {}), registryId: stored.registryId, policy },
    { text: () => pretty(stored.text), env: () => ({ POLICY_TEXT: text, REGISTRY_ID: stored.registryId }) },
  );
}

async function runSet(ctx: CliContext, scope: Scope, file: string, repo?: string): Promise<void> {
  const text = await readPolicyFile(ctx, file);
  const { setPolicy } = await import('../../ops/policy.js');
  const stored = await setPolicy(ctx, { ...target(scope, repo), text, source: file });
  render(ctx, { ...(repo ? { repository: repo } : {}), registryId: stored.registryId, status: 'set' }, {});
}

async function runDelete(ctx: CliContext, scope: Scope, repo?: string): Promise<void> {
  const { deletePolicy } = await import('../../ops/policy.js');
  const stored = await deletePolicy(ctx, target(scope, repo));
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
  if (name === undefined) {
    const { POLICY_TEMPLATES } = await import('../../policy/iam.js');
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
  const { policyTemplate } = await import('../../ops/policy.js');
  const filled = await policyTemplate(ctx, { name, accounts: opts.account, roles: opts.role, prefix: opts.prefix });
  render(ctx, filled.document, {
    text: () => filled.text,
    env: () => ({ POLICY_TEXT: JSON.stringify(filled.document), POLICY_SCOPE: filled.scope }),
  });
}
