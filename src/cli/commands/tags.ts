import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import { render } from '../output.js';

/** Declares `ecrctl tags`. */
export function defineTags(program: Command, host: CommandHost): void {
  program
    .command('tags')
    .summary("list a repository's tags")
    .description(
      "Lists every tag of REPO, following the registry's pages (Link header, n ≤ 1000).\n" +
        "With --public, REPO is an ECR Public repository of the account (ECR Public's\n" +
        'DescribeImageTags, in us-east-1).',
    )
    .argument('<repo>', 'repository, e.g. 127.0.0.1:5000/team/app')
    .option('--public', 'an ECR Public repository of the account')
    .addHelpText(
      'after',
      examples(
        'ecrctl tags 127.0.0.1:5000/team/app',
        'ecrctl tags app --output json',
        'ecrctl tags tools/cli --public',
      ),
    )
    .action(async (repo: string, opts: { public?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      if (opts.public) {
        const { listPublicTags } = await import('../../ops/images.js');
        render(ctx, await listPublicTags(ctx, { repository: repo }), {
          text: (r) => r.tags.join('\n'),
          env: (r) => ({ IMAGE_TAGS: r.tags.join(',') }),
        });
        return;
      }
      const { runTags } = await import('../transfer.js');
      await runTags(ctx, repo);
    });
}
