// `ecrctl cache-rule`: pull-through cache rules. The upstream URL is filled in from the
// upstream's name, and the rules ECR applies are checked first (prefix 2–30 characters or
// ROOT; the authenticated upstreams need a Secrets Manager secret named
// ecr-pullthroughcache/…), so a mistake exits 3 before anything is created.
import { type Command, Option } from 'commander';
import type { CreateCacheRuleOptions } from '../../ops/cache-rule.js';
import { UPSTREAMS } from '../../policy/replication.js';
import { type CommandHost, examples } from '../command-kit.js';
import { render, table } from '../output.js';

/** The create options as commander parses them: the op's, but the prefix. */
type CreateOptions = Omit<CreateCacheRuleOptions, 'prefix'>;

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
        'ecrctl cache-rule create docker-hub --upstream docker-hub --secret-arn "$HUB_SECRET_ARN"',
        'ecrctl cache-rule create quay --upstream quay',
        'ecrctl cache-rule create acr --upstream azure-container-registry --upstream-url myteam.azurecr.io --secret-arn ARN',
      ),
    )
    .action(async (prefix: string, opts: CreateOptions, c: Command) => {
      const ctx = host.context(c);
      const { createCacheRule } = await import('../../ops/cache-rule.js');
      const rule = await createCacheRule(ctx, { prefix, ...opts });
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
      const { listCacheRules } = await import('../../ops/cache-rule.js');
      render(ctx, await listCacheRules(ctx), {
        text: (d) =>
          d.rules.length === 0
            ? 'no pull-through cache rules'
            : table(
                ['PREFIX', 'UPSTREAM', 'URL', 'SECRET'],
                d.rules.map((r) => [r.prefix, r.upstream, r.upstreamUrl, r.credentialArn ?? '']),
              ),
        env: (d) => ({ CACHE_PREFIXES: d.rules.map((r) => r.prefix).join(',') }),
      });
    });

  cmd
    .command('delete')
    .summary('delete a rule (cached repositories stay)')
    .argument('<prefix>', 'the rule prefix')
    .addHelpText('after', examples('ecrctl cache-rule delete docker-hub'))
    .action(async (prefix: string, _opts: unknown, c: Command) => {
      const ctx = host.context(c);
      const { deleteCacheRule } = await import('../../ops/cache-rule.js');
      const rule = await deleteCacheRule(ctx, { prefix });
      render(ctx, rule, { text: (r) => r.prefix, env: (r) => ({ CACHE_PREFIX: r.prefix }) });
    });

  cmd
    .command('validate')
    .summary('ask ECR to check that a rule can reach its upstream (exit 1 when not)')
    .argument('<prefix>', 'the rule prefix')
    .addHelpText('after', examples('ecrctl cache-rule validate docker-hub'))
    .action(async (prefix: string, _opts: unknown, c: Command) => {
      const ctx = host.context(c);
      const { validateCacheRule, cacheRuleValidationError } = await import('../../ops/cache-rule.js');
      const v = await validateCacheRule(ctx, { prefix });
      render(ctx, v, {
        text: (r) => `${r.prefix}: ${r.valid ? 'valid' : `not valid${r.failure ? `: ${r.failure}` : ''}`}`,
        env: (r) => ({ CACHE_RULE_VALID: String(r.valid) }),
      });
      const invalid = cacheRuleValidationError(v, prefix);
      if (invalid) throw invalid;
    });
}
