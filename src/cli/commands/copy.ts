import type { Command } from 'commander';
import { type CommandHost, examples, transferOptions } from '../command-kit.js';
import type { CliContext } from '../context.js';
import type { CopyDryRun, CopyOptions, TransferResult } from '../../ops/transfer.js';
import { type TrustCliOptions, trustOptions, trustSettings } from '../trust-options.js';

/** The options of copy as commander hands them over. */
interface CopyCliOptions extends TrustCliOptions {
  allTags?: boolean;
  platform?: string;
  concurrency?: string;
  referrers?: boolean;
  createRepo?: boolean;
  dryRun?: boolean;
}

/** Declares `ecrctl copy`. */
export function defineCopy(program: Command, host: CommandHost): void {
  const cmd = program
    .command('copy')
    .summary('copy an image between registries (all platforms, digests preserved)')
    .description(
      'Copies the image SOURCE names to TARGET: across accounts, regions or registries (for\n' +
        'example Docker Hub to ECR). Indexes keep every platform; bytes and digests are kept\n' +
        'exactly. Within one registry, blobs are mounted instead of copied where the registry\n' +
        'allows it. With --all-tags, every tag of the source repository is copied.\n' +
        'Before any blob moves the target is checked as tag-push checks it: a missing ECR\n' +
        'repository exits 6 (--create-repo creates it with the naming rules and the\n' +
        '.ecrctl.yaml create: settings), an immutable tag at another image exits 3 with both\n' +
        'digests, and .ecrctl.yaml tag rules apply. --dry-run says what would move and writes\n' +
        'nothing.\n' +
        'Referrers (signatures, SBOMs, attestations) come along: those of the image, of each\n' +
        'platform of an index, and of each other up to 3 levels deep; --no-referrers skips\n' +
        'them. A destination without a usable referrers API gets the sha256-<hex> tag schema\n' +
        '(said so); referrers it refuses are listed and the exit code is 1. With\n' +
        "--require-signed the source's Notary signature is verified first (exit 3, nothing\n" +
        'copied when none does).',
    )
    .argument('<source>', 'registry reference (or oci:/docker-archive: location)')
    .argument('<target>', 'registry reference')
    .option('--all-tags', 'copy every tag of the source repository')
    .option('--create-repo', 'create a missing ECR repository first (naming rules, .ecrctl.yaml)')
    .option('--dry-run', 'say what would move (tags, blobs, bytes); write nothing');
  transferOptions(cmd, { platform: 'copy only this platform' });
  trustOptions(cmd, true);
  cmd
    .addHelpText(
      'after',
      examples(
        'ecrctl copy docker.io/library/alpine:3.20 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/alpine:3.20',
        'ecrctl copy 127.0.0.1:5000/team/app 127.0.0.1:5001/team/app --all-tags',
        'ecrctl copy team/app:v1 111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1 --no-referrers',
        'ecrctl copy docker.io/library/nginx:1.27 mirror/nginx:1.27 --create-repo',
        'ecrctl copy team/app:v1 prod/app:v1 --dry-run',
        'ecrctl copy team/app:v1 prod/app:v1 --require-signed --trust-store signer-root.pem',
      ),
    )
    .action(async (source: string, target: string, opts: CopyCliOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      const { requireSigned, trustStore, trustPolicy, signingProfile, allTags, dryRun, ...flags } = opts;
      // --require-signed: the source's signature is verified before anything moves (exit 3),
      // then exactly the digest that verified is copied.
      const trust = trustSettings({ requireSigned, trustStore, trustPolicy, signingProfile });
      let from = source;
      if (trust) {
        const { UsageError } = await import('../../errors.js');
        if (allTags) {
          throw new UsageError('--require-signed copies one image, not --all-tags', {
            fix: 'copy the tags one by one with --require-signed, or use ecrctl sync',
          });
        }
        const { requireSigned: verified, pinToVerified } = await import('../../ops/verify.js');
        from = pinToVerified(source, await verified(ctx, source, trust));
      }
      const { concurrencyOf } = await import('../transfer.js');
      const copyOpts: CopyOptions = {
        source: from,
        target,
        concurrency: concurrencyOf(flags.concurrency),
        ...(flags.platform ? { platform: flags.platform } : {}),
        ...(flags.referrers === false ? { referrers: false } : {}),
        ...(flags.createRepo ? { createRepo: true } : {}),
      };
      const ops = await import('../../ops/transfer.js');
      if (dryRun) {
        const plans = allTags ? await ops.planCopyAllTags(ctx, copyOpts) : [await ops.planCopy(ctx, copyOpts)];
        await renderDryRuns(ctx, plans, allTags === true);
        const refused = plans.find((p) => p.violation);
        if (refused?.violation) throw refused.violation;
        return;
      }
      const results = allTags ? await ops.copyAllTags(ctx, copyOpts) : [await ops.copy(ctx, copyOpts)];
      for (const r of results) await report(ctx, r);
    });
}

/** Prints a copy's result, then says how its referrers went (exit 1 when one was refused). */
async function report(ctx: CliContext, r: TransferResult): Promise<void> {
  const [{ reportTransfer }, { checkReferrersReport }] = await Promise.all([
    import('../transfer-report.js'),
    import('../../oci/referrers.js'),
  ]);
  reportTransfer(ctx, r);
  if (r.referrers) checkReferrersReport(r.referrers, r.destination, (m) => ctx.log.info(m), r.action);
}

/** Returns a dry run as the JSON and env outputs show it (the refusal is an error, not data). */
function dryRunData(p: CopyDryRun) {
  const { violation: _violation, ...data } = p;
  return data;
}

/** Prints what copy --dry-run found: one block per image (per tag with --all-tags). */
async function renderDryRuns(ctx: CliContext, plans: readonly CopyDryRun[], many: boolean): Promise<void> {
  const { formatBytes, render, table } = await import('../output.js');
  const { plural } = await import('../../text.js');
  const text = (p: ReturnType<typeof dryRunData>): string => {
    const head = `would copy ${p.source} to ${p.destination} as ${p.digest}${p.createRepository ? ' (the repository would be created)' : ''}`;
    const tags = table(
      ['TAG', 'NOW'],
      p.tags.map((t) => [
        t.tag,
        t.action === 'moves' || t.action === 'conflict' ? `${t.action} (at ${t.current})` : t.action,
      ]),
    );
    const b = p.blobs;
    const counts = [
      `${b.upload} to upload (${formatBytes(b.bytesToUpload)})`,
      `${b.present} present`,
      ...(b.mount > 0 ? [`${b.mount} to mount (${formatBytes(b.bytesToMount)})`] : []),
    ].join(', ');
    const blobTable = table(
      ['BLOB', 'SIZE', 'ACTION'],
      b.list.map((x) => [x.digest.replace(/^sha256:/, '').slice(0, 12), formatBytes(x.size), x.action]),
    );
    const rules = p.checks
      .filter((c) => c.status !== 'ok')
      .map((c) => `  ${c.status.padEnd(8)} ${c.rule}: ${c.message}`);
    return [
      head,
      tags,
      `${plural(b.total, 'blob')}, ${formatBytes(b.bytesTotal)}: ${counts}; ${plural(p.manifests, 'manifest')}` +
        `${p.platforms.length > 0 ? ` (${p.platforms.join(', ')})` : ''}; tag mutability ${p.mutability}`,
      blobTable,
      ...(rules.length > 0 ? ['rules:', ...rules] : []),
    ].join('\n');
  };
  const env = (p: ReturnType<typeof dryRunData>): Record<string, string> => ({
    DRY_RUN: 'true',
    IMAGE_DIGEST: p.digest,
    IMAGE_TAGS: p.tags.map((t) => t.tag).join(','),
    BLOBS_TO_UPLOAD: String(p.blobs.upload),
    BYTES_TO_UPLOAD: String(p.blobs.bytesToUpload),
    CREATE_REPOSITORY: p.createRepository ? 'true' : 'false',
  });
  const data = plans.map(dryRunData);
  if (!many) {
    const one = data[0]!;
    render(ctx, one, { text: (p) => `${text(p)}\nnothing copied (--dry-run)`, env });
    return;
  }
  render(ctx, data, {
    text: (list) => `${list.map(text).join('\n\n')}\nnothing copied (--dry-run)`,
    env: (list) => ({
      DRY_RUN: 'true',
      IMAGE_TAGS: list.flatMap((p) => p.tags.map((t) => t.tag)).join(','),
      BLOBS_TO_UPLOAD: String(list.reduce((n, p) => n + p.blobs.upload, 0)),
      BYTES_TO_UPLOAD: String(list.reduce((n, p) => n + p.blobs.bytesToUpload, 0)),
    }),
  });
}
