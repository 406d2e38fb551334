import type { Command } from 'commander';
import { collect, type CommandHost, examples } from '../command-kit.js';

export interface TagPushOptions {
  tag?: string[];
  platform?: string;
  concurrency?: string;
}

/** Declares `ecrctl tag-push`. */
export function defineTagPush(program: Command, host: CommandHost): void {
  program
    .command('tag-push')
    .summary('push an image from an OCI layout, a docker-archive or a registry, with tags')
    .description(
      'Pushes the image SOURCE names to the repository TARGET names, under the tag in TARGET\n' +
        'and every --tag. Blobs the registry already has are skipped (one HEAD each); blobs go\n' +
        'first and tags last, so a failed push never leaves a tag on a partial image.\n' +
        'SOURCE: oci:DIR[:TAG], docker-archive:FILE[:REF], docker-daemon:IMAGE, or a registry reference.',
    )
    .argument('<source>', 'image to push')
    .argument('<target>', 'registry reference to push to, e.g. 127.0.0.1:5000/team/app:v1')
    .option('-t, --tag <tag>', 'another tag for the pushed image (repeatable)', collect)
    .option('--platform <os/arch[/variant]>', 'push only this platform of a multi-platform source')
    .option('--concurrency <n>', 'blobs transferred at once', '4')
    .addHelpText(
      'after',
      examples(
        'ecrctl tag-push oci:./build/image:latest 127.0.0.1:5000/team/app:v1 --tag main-abc1234',
        'ecrctl tag-push docker-archive:app.tar 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1',
        'ecrctl tag-push oci:./image app:v1 --output env >> "$GITHUB_ENV"',
      ),
    )
    .action(async (source: string, target: string, opts: TagPushOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      const { runTransfer } = await import('../transfer.js');
      await runTransfer(ctx, { action: 'pushed', source, target, tags: opts.tag ?? [], platform: opts.platform, concurrency: opts.concurrency });
    });
}
