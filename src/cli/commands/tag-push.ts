import type { Command } from 'commander';
import { type CommandHost, examples, strategiesOf, type TagCliOptions, tagOptions } from '../command-kit.js';
import { UsageError } from '../../errors.js';
import type { CliContext } from '../context.js';
import type { TransferResult } from '../../ops/transfer.js';
import { type TrustCliOptions, trustOptions, trustSettings } from '../trust-options.js';

export interface TagPushOptions extends TrustCliOptions, TagCliOptions {
  dryRun?: boolean;
  createRepo?: boolean;
  platform?: string;
  concurrency?: string;
  scan?: boolean;
  failOn?: string;
  ignore?: string;
  scanTimeout?: string;
  referrers?: boolean;
}

/** Declares `ecrctl tag-push`. */
export function defineTagPush(program: Command, host: CommandHost): void {
  trustOptions(
    tagOptions(
      program
        .command('tag-push')
        .alias('push')
        .summary('push an image from an OCI layout, a docker-archive or a registry, with tags')
        .description(
          'Pushes the image SOURCE names to the repository TARGET names, under the tag in TARGET,\n' +
            'every --tag, and the tags each --tag-strategy derives from CodeBuild or GitHub Actions\n' +
            'variables or git (or the strategies .ecrctl.yaml sets for the repository;\n' +
            '--no-tag-strategy turns them off for one push). On a GitHub pull request event\n' +
            'the commit in those tags is the head of the pull request, not the merge commit.\n' +
            'Tag rules\n' +
            'from .ecrctl.yaml are checked first (exit 3, nothing pushed). A tag already at the same\n' +
            'image is "unchanged", so re-runs pass on immutable repositories; an immutable tag at\n' +
            'another image exits 3 before any blob moves. Blobs the registry has are skipped; blobs\n' +
            'go first and tags last, so a failed push never leaves a tag on a partial image.\n' +
            'Referrers of the image in an OCI layout or registry source (signatures, SBOMs,\n' +
            'attestations) are pushed too; --no-referrers leaves them behind. With\n' +
            '--require-signed the Notary signature of SOURCE is verified first (exit 3, nothing\n' +
            'pushed when none verifies).\n' +
            'SOURCE: oci:DIR[:TAG], docker-archive:FILE[:REF], docker-daemon:IMAGE, or a registry reference.\n' +
            'In GitHub Actions the results also go to $GITHUB_OUTPUT (image-uri, image-digest,\n' +
            'image-tags) and $GITHUB_STEP_SUMMARY.',
        )
        .argument('<source>', 'image to push')
        .argument('<target>', 'registry reference to push to, e.g. 127.0.0.1:5000/team/app:v1'),
      {
        tag: 'another tag for the pushed image (repeatable)',
        tagStrategy: 'derive tags: branch-sha, semver, sha, env:NAME, latest; none (repeatable)',
        noTagStrategy: "for this push, no tag strategy (not the config's either)",
      },
    )
      .option('--dry-run', 'print the tags and the rules checked; push nothing')
      .option('--create-repo', 'create a missing ECR repository (naming rules and .ecrctl.yaml defaults)')
      .option('--platform <os/arch[/variant]>', 'push only this platform of a multi-platform source')
      .option('--concurrency <n>', 'blobs transferred at once', '4')
      .option('--no-referrers', "do not push the image's referrers (signatures, SBOMs, attestations)")
      .option('--scan', 'after the push, scan the image and report (the image stays pushed)')
      .option(
        '--fail-on <severity>',
        'scan (implies --scan) and exit 4 when a finding at or above SEVERITY remains: CRITICAL, HIGH, MEDIUM, LOW or INFORMATIONAL',
      )
      .option('--ignore <file>', 'with --scan or --fail-on: accepted findings (id, package, expiry, reason)')
      .option('--scan-timeout <duration>', 'with --scan: the longest wait for the scan', '10m'),
    true,
  )
    .addHelpText(
      'after',
      examples(
        'ecrctl tag-push oci:./build/image:latest 127.0.0.1:5000/team/app:v1 --tag main-abc1234',
        'ecrctl tag-push oci:./build/image app --tag-strategy branch-sha --tag-strategy semver --semver-aliases',
        'ecrctl tag-push docker-archive:app.tar 123456789012.dkr.ecr.us-east-1.amazonaws.com/app -s sha --dry-run',
        'ecrctl tag-push oci:./image app -s branch-sha --create-repo --output env >> "$GITHUB_ENV"',
        'ecrctl tag-push oci:./image app:v1 --fail-on HIGH',
        'ecrctl tag-push oci:./image app:hotfix-1 --no-tag-strategy',
      ),
    )
    .action(async (source: string, target: string, opts: TagPushOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      // --fail-on implies --scan, as `scan --fail-on` implies --wait: a threshold needs a scan.
      const scan = opts.scan === true || opts.failOn !== undefined;
      if (opts.ignore !== undefined && !scan) {
        throw new UsageError('--ignore goes with --scan or --fail-on', {
          fix: 'add --scan (report) or --fail-on SEVERITY (exit 4 above it)',
        });
      }
      if (opts.dryRun && scan) ctx.log.info('--dry-run pushes nothing, so nothing is scanned');
      // --require-signed: the source's signature is verified before anything moves (exit 3).
      const trust = trustSettings(opts);
      let from = source;
      if (trust) {
        const { requireSigned, pinToVerified } = await import('../../ops/verify.js');
        from = pinToVerified(source, await requireSigned(ctx, source, trust));
      }
      const { runPush } = await import('../transfer.js');
      const pushed = await runPush(ctx, {
        source: from,
        target,
        tags: opts.tag ?? [],
        // --no-tag-strategy: `none` turns the config's default strategies off for this push.
        strategies: strategiesOf(opts),
        semverAliases: opts.semverAliases,
        dryRun: opts.dryRun,
        createRepo: opts.createRepo,
        platform: opts.platform,
        concurrency: opts.concurrency,
        referrers: opts.referrers,
      });
      if (scan && pushed?.repository) await scanPushed(ctx, pushed, opts);
    });
}

/**
 * Scans what tag-push just pushed and reports on stderr (stdout keeps the push result, so
 * --output json stays one document); the exit code tells the build: 4 over --fail-on.
 */
async function scanPushed(ctx: CliContext, pushed: TransferResult, opts: TagPushOptions): Promise<void> {
  const [{ parseEcrHost }, { scanImage, checkScanReport }, { printScanReport }] = await Promise.all([
    import('../../ecr/hosts.js'),
    import('../../ops/scan.js'),
    import('../scan-report.js'),
  ]);
  const ecr = parseEcrHost(pushed.registry ?? '');
  const result = await scanImage(ctx, {
    repository: pushed.repository!,
    digest: pushed.digest,
    wait: true,
    timeout: opts.scanTimeout ?? '10m',
    reference: `${pushed.repository}@${pushed.digest}`,
    ...(ecr?.kind === 'private' ? { registryId: ecr.registryId, region: ecr.region } : {}),
    ...(opts.failOn ? { failOn: opts.failOn } : {}),
    ...(opts.ignore ? { ignore: opts.ignore } : {}),
    statusLines: !ctx.stderr.isTTY,
  });
  const report: CliContext = { ...ctx, stdout: ctx.stderr, globals: { ...ctx.globals, output: 'text' } };
  printScanReport(report, result, 'table');
  checkScanReport(result);
}
