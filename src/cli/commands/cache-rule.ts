// `ecrctl cache-rule`: pull-through cache rules. The upstream URL is filled in from the
// upstream's name, and the rules ECR applies are checked first (prefix 2–30 characters or
// ROOT; the authenticated upstreams need a Secrets Manager secret named
// ecr-pullthroughcache/…), so a mistake exits 3 before anything is created.
import { type Command, Option } from 'commander';
import { EcrctlError, RuleViolation } from '../../errors.js';
import { UPSTREAMS, type Upstream } from '../../policy/replication.js';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render, table } from '../output.js';

interface CreateOptions {
  upstream: Upstream;
  upstreamUrl?: string;
  upstreamAccount?: string;
  upstreamRegion?: string;
  upstreamPrefix?: string;
  secretArn?: string;
  roleArn?: string;
}

/** Declares `ecrctl cache-rule`. */
export function defineCacheRule(program: Command, host: CommandHost): void {
  const cmd = program
    .command('cache-rule')
    .summary('pull-through cache rules: cache Docker Hub, Quay, GHCR, … images in ECR')
    .description(
      'A pull-through cache rule maps a repository prefix of your registry to an upstream\n' +
        'registry: pulling <registry>/PREFIX/<image> fetches and caches the upstream image.\n' +
        'Upstreams: ecr, ecr-public, quay, k8s, docker-hub, github-container-registry,\n' +
        'azure-container-registry, gitlab-container-registry, chainguard. docker-hub, GitHub,\n' +
        'Azure, GitLab and Chainguard need credentials in a Secrets Manager secret whose name\n' +
        'starts with ecr-pullthroughcache/.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl cache-rule create quay --upstream quay',
        'ecrctl cache-rule create docker-hub --upstream docker-hub --secret-arn ARN',
        'ecrctl cache-rule list',
        'ecrctl cache-rule validate docker-hub',
      ),
    );

  cmd
    .command('create')
    .summary('create a rule for an upstream registry')
    .argument('<prefix>', 'repository prefix in your registry (2–30 characters, or ROOT)')
    .addOption(new Option('--upstream <name>', 'the upstream registry').choices(UPSTREAMS).makeOptionMandatory())
    .option(
      '--upstream-url <host>',
      'the upstream host (needed for azure-container-registry: NAME.azurecr.io; filled in for the others)',
    )
    .option('--upstream-account <id>', 'ecr upstream: its account id')
    .option('--upstream-region <region>', 'ecr upstream: its region')
    .option('--upstream-prefix <prefix>', 'ecr upstream: the repository prefix there (default: ROOT)')
    .option(
      '--secret-arn <arn>',
      'Secrets Manager secret with the upstream credentials (name starts with ecr-pullthroughcache/)',
    )
    .option('--role-arn <arn>', 'ecr upstream: the IAM role ECR assumes to pull from it')
    .addHelpText(
      'after',
      examples(
        'ecrctl cache-rule create docker-hub --upstream docker-hub --secret-arn arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/docker-hub-AbCdEf',
        'ecrctl cache-rule create quay --upstream quay',
        'ecrctl cache-rule create acr --upstream azure-container-registry --upstream-url myteam.azurecr.io --secret-arn ARN',
      ),
    )
    .action(async (prefix: string, opts: CreateOptions, c: Command) => {
      const ctx = host.context(c);
      const spec = await checkedSpec(prefix, opts);
      const conn = await connect(ctx);
      const { createCacheRule } = await import('../../ecr/cache-rules.js');
      const rule = await createCacheRule(conn, spec);
      ctx.log.info(`created pull-through cache rule ${rule.prefix} → ${rule.upstreamUrl}`);
      render(ctx, rule, {
        text: (r) => `${r.prefix}\t${r.upstream}\t${r.upstreamUrl}`,
        env: (r) => ({ CACHE_PREFIX: r.prefix, UPSTREAM_URL: r.upstreamUrl }),
      });
    });

  cmd
    .command('list')
    .summary('list the rules')
    .addHelpText('after', examples('ecrctl cache-rule list', 'ecrctl cache-rule list --output json'))
    .action(async (_opts: unknown, c: Command) => {
      const ctx = host.context(c);
      const conn = await connect(ctx);
      const { listCacheRules } = await import('../../ecr/cache-rules.js');
      const rules = await listCacheRules(conn);
      render(
        ctx,
        { rules },
        {
          text: (d) =>
            d.rules.length === 0
              ? 'no pull-through cache rules'
              : table(
                  ['PREFIX', 'UPSTREAM', 'URL', 'SECRET'],
                  d.rules.map((r) => [r.prefix, r.upstream, r.upstreamUrl, r.credentialArn ?? '']),
                ),
          env: (d) => ({ CACHE_PREFIXES: d.rules.map((r) => r.prefix).join(' ') }),
        },
      );
    });

  cmd
    .command('delete')
    .summary('delete a rule (cached repositories stay)')
    .argument('<prefix>', 'the rule prefix')
    .addHelpText('after', examples('ecrctl cache-rule delete docker-hub'))
    .action(async (prefix: string, _opts: unknown, c: Command) => {
      const ctx = host.context(c);
      await checkPrefix(prefix);
      const conn = await connect(ctx);
      const { deleteCacheRule } = await import('../../ecr/cache-rules.js');
      const rule = await deleteCacheRule(conn, prefix);
      ctx.log.info(`deleted pull-through cache rule ${rule.prefix}`);
      render(ctx, rule, { text: (r) => r.prefix, env: (r) => ({ CACHE_PREFIX: r.prefix }) });
    });

  cmd
    .command('validate')
    .summary('ask ECR to check that a rule can reach its upstream (exit 1 when not)')
    .argument('<prefix>', 'the rule prefix')
    .addHelpText('after', examples('ecrctl cache-rule validate docker-hub'))
    .action(async (prefix: string, _opts: unknown, c: Command) => {
      const ctx = host.context(c);
      await checkPrefix(prefix);
      const conn = await connect(ctx);
      const { validateCacheRule } = await import('../../ecr/cache-rules.js');
      const v = await validateCacheRule(conn, prefix);
      render(ctx, v, {
        text: (r) => `${r.prefix}: ${r.valid ? 'valid' : `not valid${r.failure ? `: ${r.failure}` : ''}`}`,
        env: (r) => ({ CACHE_RULE_VALID: String(r.valid) }),
      });
      if (!v.valid) {
        throw new EcrctlError(`pull-through cache rule ${prefix} is not valid${v.failure ? `: ${v.failure}` : ''}`, {
          fix: 'check the secret (username and accessToken) and that ECR may read it',
        });
      }
    });
}

async function connect(ctx: CliContext) {
  return (await import('../ecr-ref.js')).ecrConnection(ctx);
}

async function checkPrefix(prefix: string): Promise<void> {
  const { prefixProblem } = await import('../../policy/replication.js');
  const p = prefixProblem(prefix, 30);
  if (p)
    throw new RuleViolation(p, {
      rule: 'a pull-through cache prefix is 2–30 characters of a repository namespace, or ROOT',
      value: prefix,
    });
}

/** Returns the rule to create, or throws RuleViolation naming every problem. */
async function checkedSpec(
  prefix: string,
  opts: CreateOptions,
): Promise<import('../../ecr/cache-rules.js').CacheRuleSpec> {
  const policy = await import('../../policy/replication.js');
  const problems: string[] = [];
  const p = policy.prefixProblem(prefix, 30);
  if (p) problems.push(p);
  const url = policy.upstreamUrlFor(opts.upstream, {
    ...(opts.upstreamUrl ? { url: opts.upstreamUrl.replace(/^https?:\/\//, '').replace(/\/$/, '') } : {}),
    ...(opts.upstreamAccount ? { account: opts.upstreamAccount } : {}),
    ...(opts.upstreamRegion ? { region: opts.upstreamRegion } : {}),
  });
  if ('problem' in url) problems.push(url.problem);
  problems.push(...policy.credentialArnProblems(opts.upstream, opts.secretArn));
  if (opts.upstreamPrefix !== undefined) {
    if (opts.upstream !== 'ecr') problems.push('--upstream-prefix works only with --upstream ecr');
    const up = policy.prefixProblem(opts.upstreamPrefix, 30);
    if (up) problems.push(`--upstream-prefix: ${up}`);
  }
  if (opts.roleArn !== undefined && !/^arn:aws[a-z-]*:iam::[0-9]{12}:role\/\S+$/.test(opts.roleArn)) {
    problems.push(`--role-arn "${opts.roleArn}": not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`);
  }
  if (problems.length > 0 || 'problem' in url) {
    throw new RuleViolation(
      problems.length === 1
        ? (problems[0] as string)
        : `the cache rule breaks ${problems.length} rules; nothing was created`,
      {
        rule: `prefix 2–30 characters or ROOT; ${policy.UPSTREAMS_NEEDING_SECRET.join(', ')} need a Secrets Manager secret named ${policy.CACHE_SECRET_PREFIX}…`,
        fix: 'fix the problems listed',
        ...(problems.length > 1 ? { problems } : {}),
      },
    );
  }
  return {
    prefix: prefix.replace(/\/$/, ''),
    upstream: opts.upstream,
    upstreamUrl: url.url,
    ...(opts.secretArn ? { credentialArn: opts.secretArn } : {}),
    ...(opts.roleArn ? { customRoleArn: opts.roleArn } : {}),
    ...(opts.upstreamPrefix ? { upstreamPrefix: opts.upstreamPrefix } : {}),
  };
}
