// `ecrctl discover REF`: the referrers of an image, as a tree (text) or JSON.
import type { Command } from 'commander';
import type { DiscoverResult, ReferrerNode } from '../../ops/discover.js';
import { type CommandHost, examples } from '../command-kit.js';
import { render } from '../output.js';

/** Declares `ecrctl discover`. */
export function defineDiscover(program: Command, host: CommandHost): void {
  program
    .command('discover')
    .summary('list the referrers of an image (signatures, SBOMs), recursively')
    .description(
      'Lists what refers to image REF (signatures, SBOMs, attestations) and what refers to ' +
        'those, through the referrers API, the sha256-<hex> tag schema and, on ECR, ' +
        'ListImageReferrers (which also sees ARCHIVED referrers). Text output is a tree; ' +
        '--output json gives every referrer with where it was found. (The global --output ' +
        'takes text, json or env: for `oras discover -o tree`, write --tree.)',
    )
    .argument('<ref>', 'the image: repo:tag, repo@digest or <registry>/repo:tag')
    .option('--artifact-type <type>', 'only referrers of this artifactType')
    .option('--depth <n>', 'how many levels to follow', '5')
    .option('--tree', 'print the tree (the text output) whatever --output says')
    .addHelpText(
      'after',
      examples(
        'ecrctl discover team/app:v1',
        'ecrctl discover team/app:v1 --artifact-type application/spdx+json -o json',
        'ecrctl discover team/app:v1 --tree',
      ),
    )
    .action(async (ref: string, opts: { artifactType?: string; depth: string; tree?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      const { discover } = await import('../../ops/discover.js');
      const depth = Number(opts.depth);
      const result = await discover(ctx, {
        reference: ref,
        ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
        ...(Number.isInteger(depth) && depth > 0 ? { maxDepth: depth } : {}),
      });
      if (opts.tree) {
        ctx.stdout.write(ctx.secrets.redact(`${referrerTree(result)}\n`));
        return;
      }
      render(ctx, result, {
        text: referrerTree,
        env: (r) => ({ SUBJECT_DIGEST: r.digest, REFERRER_COUNT: String(r.total) }),
      });
    });
}

/** Returns the `oras discover`-style tree: artifact types, their digests beneath, nested referrers under each digest. */
export function referrerTree(r: DiscoverResult): string {
  const lines = [`${r.reference}@${r.digest}`];
  const walk = (nodes: readonly ReferrerNode[], prefix: string) => {
    const groups = new Map<string, ReferrerNode[]>();
    for (const n of nodes) {
      const key = n.artifactType ?? n.mediaType;
      groups.set(key, [...(groups.get(key) ?? []), n]);
    }
    [...groups].forEach(([type, members], gi) => {
      const lastGroup = gi === groups.size - 1;
      lines.push(`${prefix}${lastGroup ? '└── ' : '├── '}${type}`);
      const inner = prefix + (lastGroup ? '    ' : '│   ');
      members.forEach((n, i) => {
        const last = i === members.length - 1;
        const status = n.artifactStatus && n.artifactStatus !== 'ACTIVE' ? ` (${n.artifactStatus})` : '';
        lines.push(`${inner}${last ? '└── ' : '├── '}${n.digest}${status}`);
        walk(n.referrers, inner + (last ? '    ' : '│   '));
      });
    });
  };
  walk(r.referrers, '');
  if (r.referrers.length === 0) lines.push('(no referrers)');
  return lines.join('\n');
}
