import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';

/** Declares `ecrctl tags`. */
export function defineTags(program: Command, host: CommandHost): void {
  program
    .command('tags')
    .summary("list a repository's tags")
    .description("Lists every tag of REPO, following the registry's pages (Link header, n ≤ 1000).")
    .argument('<repo>', 'repository, e.g. 127.0.0.1:5000/team/app')
    .addHelpText('after', examples('ecrctl tags 127.0.0.1:5000/team/app', 'ecrctl tags app --output json'))
    .action(async (repo: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { runTags } = await import('../transfer.js');
      await runTags(ctx, repo);
    });
}
