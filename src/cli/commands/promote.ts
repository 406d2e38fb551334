// `ecrctl promote REF TAG...`: adds tags to an image that is already in the repository by
// writing its manifest under each tag. No blob moves. For ECR the API does it (PutImage with
// the manifest's media type); for other registries the registry API (PUT manifest).
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';
import { type TrustCliOptions, trustOptions, trustSettings } from '../trust-options.js';

/** Declares `ecrctl promote`. */
export function definePromote(program: Command, host: CommandHost): void {
  const cmd = program
    .command('promote')
    .summary('add tags (staging, production, …) to an image already in the repository')
    .description(
      'Adds each TAG to the image REF names by writing its manifest under the tag: no blob is\n' +
        'read or sent, so it works for images, indexes, OCI artifacts and Helm charts alike. Tag\n' +
        'rules from .ecrctl.yaml apply. A tag already on the image is "unchanged"; an immutable\n' +
        'tag on another image exits 3 before anything is written, as does passing the 1,000\n' +
        'tags an ECR image can hold. ECR repositories are retagged through the ECR API\n' +
        '(PutImage), other registries through the registry API. With --require-signed the\n' +
        "image's Notary signature is verified first (as `ecrctl verify` does): when none\n" +
        'verifies it exits 3 and no tag changes.',
    )
    .argument('<ref>', 'the image: REPO:TAG or REPO@DIGEST (short ECR form or HOST/REPO…)')
    .argument('<tags...>', 'tags to add')
    .option('--dry-run', 'print what would change; write nothing');
  trustOptions(cmd, true)
    .addHelpText(
      'after',
      examples(
        'ecrctl promote app:main-abc1234 staging',
        'ecrctl promote team/api@sha256:… production v1.4.2',
        'ecrctl promote 127.0.0.1:5000/app:v1 stable -o env',
        'ecrctl promote app:v1 production --require-signed --trust-store ./signer-root.pem',
      ),
    )
    .action(async (ref: string, tags: string[], opts: { dryRun?: boolean } & TrustCliOptions, c: Command) => {
      const ctx = host.context(c);
      await runPromote(ctx, ref, tags, opts.dryRun === true, opts);
    });
}

/** Adds tags to an existing image and reports what changed. */
async function runPromote(
  ctx: CliContext,
  ref: string,
  tags: string[],
  dryRun: boolean,
  trust: TrustCliOptions,
): Promise<void> {
  const requireSigned = trustSettings(trust);
  const [{ promote }, { reportPushToGitHub }] = await Promise.all([
    import('../../ops/promote.js'),
    import('../../ci/github.js'),
  ]);
  const result = await promote(ctx, { image: ref, tags, dryRun, ...(requireSigned ? { requireSigned } : {}) });
  const unique = [...new Set(tags)];
  render(ctx, result, {
    text: (r) =>
      `${r.dryRun ? 'would promote' : 'promoted'} ${r.imageUri}: ${[...r.added.map((t) => `${t} (${r.dryRun ? 'would add' : 'added'})`), ...r.unchanged.map((t) => `${t} (unchanged)`)].join(', ')}`,
    env: (r) => ({ IMAGE_URI: r.imageUri, IMAGE_DIGEST: r.digest, IMAGE_TAGS: unique.join(',') }),
  });
  if (!dryRun) {
    reportPushToGitHub(ctx.env, {
      verb: 'promote',
      imageUri: result.imageUri,
      digest: result.digest,
      tags: unique,
      unchangedTags: result.unchanged,
      detail: 'manifest only, no blobs moved',
    });
  }
}
