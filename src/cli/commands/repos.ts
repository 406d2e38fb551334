// `ecrctl repos [PATTERN]`: every repository of the registry (all pages), with its settings
// and, unless --no-count, how many images it holds (counted a few repositories at a time).
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render, table } from '../output.js';

/** Declares `ecrctl repos`. */
export function defineRepos(program: Command, host: CommandHost): void {
  program
    .command('repos')
    .summary('list repositories with their settings and image counts')
    .description(
      'Lists the repositories of the registry (every page), optionally only those whose name\n' +
        "matches PATTERN ('*' any run of characters, '?' one), with URI, tag mutability, scan on\n" +
        'push, encryption and the number of images. Counting asks ECR once per repository (8 at\n' +
        'a time); --no-count skips it.',
    )
    .argument('[pattern]', "glob over repository names, e.g. 'team/*'")
    .option('--no-count', 'do not count images (one DescribeImages walk per repository)')
    .option('--public', 'the ECR Public repositories of the account')
    .addHelpText(
      'after',
      examples(
        'ecrctl repos',
        "ecrctl repos 'team/*' --no-count",
        'ecrctl repos --public',
        'ecrctl repos --output json',
      ),
    )
    .action(async (pattern: string | undefined, opts: { count: boolean; public?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runRepos(ctx, pattern, opts.count !== false, opts.public === true);
    });
}

async function runRepos(
  ctx: CliContext,
  pattern: string | undefined,
  count: boolean,
  isPublic: boolean,
): Promise<void> {
  const { listRepositories } = await import('../../ops/repos.js');
  const result = await listRepositories(ctx, { pattern, count, public: isPublic });
  const day = (x: Date | undefined) => (x ? x.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');
  render(ctx, result, {
    text: (d) =>
      d.repositories.length === 0
        ? ''
        : isPublic
          ? table(
              ['NAME', 'URI', 'CREATED', ...(count ? ['IMAGES'] : [])],
              d.repositories.map((r) => [
                r.name,
                r.uri,
                day(r.createdAt),
                ...(count ? [String(r.imageCount ?? '')] : []),
              ]),
            )
          : table(
              ['NAME', 'URI', 'TAG MUTABILITY', 'SCAN ON PUSH', 'ENCRYPTION', ...(count ? ['IMAGES'] : [])],
              d.repositories.map((r) => [
                r.name,
                r.uri,
                r.mutabilityExclusions && r.mutabilityExclusions.length > 0
                  ? `${r.tagMutability} (${r.mutabilityExclusions.join(',')})`
                  : (r.tagMutability ?? '-'),
                r.scanOnPush ? 'yes' : 'no',
                r.encryption ?? '-',
                ...(count ? [String(r.imageCount ?? '')] : []),
              ]),
            ),
    env: (d) => ({
      REPOSITORY_COUNT: String(d.repositories.length),
      REPOSITORY_NAMES: d.repositories.map((r) => r.name).join(','),
    }),
  });
}
