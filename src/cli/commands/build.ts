// `ecrctl build`: a base image plus files and config → a registry or a local layout, with no
// Docker daemon. Option text → BuildOptions; the op is src/ops/build.ts.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { BuildResult } from '../../ops/build.js';
import { collect, type CommandHost, examples, strategiesOf, type TagCliOptions, tagOptions } from '../command-kit.js';
import type { CliContext } from '../context.js';

interface BuildFlags extends TagCliOptions {
  from: string;
  target: string;
  add?: string[];
  oneLayer?: boolean;
  layer?: string[];
  ignoreFile?: string;
  entrypoint?: string;
  cmd?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  label?: string[];
  expose?: string[];
  annotation?: string[];
  platform?: string;
  created?: string;
  sourceDateEpoch?: string | boolean;
  createRepo?: boolean;
  dryRun?: boolean;
  concurrency?: string;
  scan?: boolean;
  failOn?: string;
  ignore?: string;
  scanTimeout?: string;
}

/** Declares `ecrctl build`. */
export function defineBuild(program: Command, host: CommandHost): void {
  tagOptions(
    program
      .command('build')
      .summary('build an image from a base image plus files, without Docker')
      .description(
        'Builds an image from --from BASE: each --add becomes one layer (reproducible: sorted ' +
          'entries, fixed mtimes, uid/gid 0), then --layer files, then config changes. Writes to ' +
          '--target: a registry (tags, tag rules, --create-repo as tag-push), oci:DIR[:TAG] or ' +
          'docker-archive:FILE. Base layers never touch the disk: the registry skips or mounts ' +
          'them, or they are streamed from the base registry; only new layers are uploaded. An ' +
          'index BASE gives an index (every platform, or --platform). Times come from --created, ' +
          'else SOURCE_DATE_EPOCH, else 1970-01-01. The image names its base in annotations, ' +
          'for check-base and rebase.',
      )
      .requiredOption('--from <base>', 'the base image (registry reference, oci:DIR[:TAG])')
      .requiredOption('--target <ref>', 'registry reference, oci:DIR[:TAG] or docker-archive:FILE')
      .option('--add <src:dest>', 'SRC:DEST[:MODE[:UID:GID]]: a file or directory as a layer (repeatable)', collect)
      .option('--one-layer', 'put every --add into one layer')
      .option('--layer <file>', 'a prebuilt FILE.tar[.gz], or os/arch=FILE for one platform (repeatable)', collect)
      .option('--ignore-file <file>', '.dockerignore-style excludes for --add directories')
      .option('--entrypoint <cmd>', 'JSON array or words (exec form, no shell)')
      .option('--cmd <cmd>', 'JSON array or words (exec form, no shell)')
      .option('--env <k=v>', 'environment variable, merged with the base (repeatable)', collect)
      .option('--workdir <dir>', 'working directory')
      .option('--user <user>', 'user (name or uid[:gid])')
      .option('--label <k=v>', 'config label (repeatable)', collect)
      .option('--expose <port>', 'PORT[/tcp|udp] (repeatable)', collect)
      .option('--annotation <k=v>', 'manifest annotation (repeatable)', collect)
      .option('--platform <list>', 'platforms of an index base: os/arch,... or all (default all)')
      .option('--created <time>', 'RFC 3339 creation time (and file mtimes)')
      .option('--source-date-epoch [seconds]', 'seconds since 1970 (default: $SOURCE_DATE_EPOCH)'),
  )
    .option('--create-repo', 'create a missing ECR repository')
    .option('--dry-run', 'build and plan (digest, tags, rules); write nothing')
    .option('--concurrency <n>', 'blobs moved at once', '4')
    .option('--scan', 'after the push, scan the image and report')
    .option('--fail-on <severity>', 'with --scan: exit 4 at or above this severity')
    .option('--ignore <file>', 'with --scan: accepted findings')
    .option('--scan-timeout <duration>', 'with --scan: the longest wait', '10m')
    .addHelpText(
      'after',
      examples(
        'ecrctl build --from node:22-slim --add ./dist:/app --entrypoint \'["node","/app/index.js"]\' --target oci:./out:v1',
        'ecrctl build --from public.ecr.aws/lambda/nodejs:22 --add ./dist:/var/task --cmd index.handler --target team/fn -s branch-sha --create-repo',
        'ecrctl build --from gcr.io/distroless/static --layer linux/amd64=amd64.tar --layer linux/arm64=arm64.tar --target app:v1',
      ),
    )
    .action(async (flags: BuildFlags, cmd: Command) => {
      const ctx = host.context(cmd);
      if ((flags.failOn !== undefined || flags.ignore !== undefined) && !flags.scan) {
        throw new UsageError('--fail-on and --ignore go with --scan', {
          fix: 'add --scan, e.g. --scan --fail-on HIGH',
        });
      }
      const { build } = await import('../../ops/build.js');
      const { concurrencyOf } = await import('../transfer.js');
      const sde = flags.sourceDateEpoch;
      let sourceDateEpoch: number | undefined;
      if (sde === true) {
        const raw = ctx.env.SOURCE_DATE_EPOCH;
        if (!raw) {
          throw new UsageError('--source-date-epoch without a value needs SOURCE_DATE_EPOCH set', {
            fix: 'export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or give --source-date-epoch SECONDS',
          });
        }
        sourceDateEpoch = Number(raw);
      } else if (typeof sde === 'string') {
        if (!/^[0-9]{1,12}$/.test(sde)) throw new UsageError('--source-date-epoch takes whole seconds', { value: sde });
        sourceDateEpoch = Number(sde);
      }
      const result = await build(ctx, {
        from: flags.from,
        target: flags.target,
        ...(flags.add ? { add: flags.add } : {}),
        ...(flags.oneLayer ? { oneLayer: true } : {}),
        ...(flags.layer ? { layers: flags.layer } : {}),
        ...(flags.ignoreFile ? { ignoreFile: flags.ignoreFile } : {}),
        ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint } : {}),
        ...(flags.cmd !== undefined ? { cmd: flags.cmd } : {}),
        ...(flags.env ? { env: flags.env } : {}),
        ...(flags.workdir !== undefined ? { workdir: flags.workdir } : {}),
        ...(flags.user !== undefined ? { user: flags.user } : {}),
        ...(flags.label ? { labels: flags.label } : {}),
        ...(flags.expose ? { expose: flags.expose } : {}),
        ...(flags.annotation ? { annotations: flags.annotation } : {}),
        ...(flags.platform && flags.platform !== 'all' ? { platforms: flags.platform.split(',') } : {}),
        ...(flags.created !== undefined ? { created: flags.created } : {}),
        ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
        tags: flags.tag ?? [],
        strategies: strategiesOf(flags),
        ...(flags.semverAliases ? { semverAliases: true } : {}),
        ...(flags.createRepo ? { createRepo: true } : {}),
        ...(flags.dryRun ? { dryRun: true } : {}),
        concurrency: concurrencyOf(flags.concurrency),
      });
      await reportBuild(ctx, result);
      if (result.plan?.violation) throw result.plan.violation;
      if (flags.scan && result.repository && !result.dryRun) await scanBuilt(ctx, result, flags);
    });
}

/** Prints a build's (or rebase's) result and reports it to GitHub Actions. */
export async function reportBuild(ctx: CliContext, r: BuildResult): Promise<void> {
  const { render, formatBytes } = await import('../output.js');
  const o = r.outcome;
  const tags =
    r.tags.length > 0
      ? ` tags ${r.tags.join(',')}${r.unchangedTags.length ? ` (unchanged: ${r.unchangedTags.join(',')})` : ''}`
      : '';
  const line = r.dryRun
    ? `would write ${r.destination}${tags} ${r.digest} onto ${r.base.name} (nothing written: --dry-run)`
    : `${r.action} ${r.destination}${tags} ${r.digest} onto ${r.base.name} (${r.layers.length > 0 ? `${r.layers.length} new layer${r.layers.length === 1 ? '' : 's'}; ` : ''}blobs: ${o.new} new, ${o.mounted} mounted, ${o.skipped} skipped, ${o.streamed} streamed; ${formatBytes(r.bytesUploaded)} sent)`;
  render(ctx, r, {
    text: () => line,
    env: (x) => ({
      IMAGE_URI: x.imageUri,
      IMAGE_DIGEST: x.digest,
      IMAGE_TAGS: x.tags.join(','),
      IMAGE_BASE: x.base.name,
      IMAGE_BASE_DIGEST: x.base.digest,
    }),
  });
  if (r.registry && !r.dryRun) {
    const { reportPushToGitHub } = await import('../../ci/github.js');
    reportPushToGitHub(ctx.env, {
      verb: r.action === 'built' ? 'build' : 'rebase',
      imageUri: r.imageUri,
      digest: r.digest,
      tags: r.tags,
      unchangedTags: r.unchangedTags,
      detail: `${o.new} new, ${o.mounted} mounted, ${o.skipped} skipped, ${o.streamed} streamed blobs; ${formatBytes(r.bytesUploaded)} sent`,
    });
  }
}

/** Scans what build pushed, reporting on stderr (stdout keeps the build result); exit 4 over --fail-on. */
async function scanBuilt(ctx: CliContext, r: BuildResult, flags: BuildFlags): Promise<void> {
  const [{ parseEcrHost }, { scanImage, checkScanReport }, { printScanReport }] = await Promise.all([
    import('../../ecr/hosts.js'),
    import('../../ops/scan.js'),
    import('../scan-report.js'),
  ]);
  const ecr = parseEcrHost(r.registry ?? '');
  const result = await scanImage(ctx, {
    repository: r.repository!,
    digest: r.digest,
    wait: true,
    timeout: flags.scanTimeout ?? '10m',
    reference: `${r.repository}@${r.digest}`,
    ...(ecr?.kind === 'private' ? { registryId: ecr.registryId, region: ecr.region } : {}),
    ...(flags.failOn ? { failOn: flags.failOn } : {}),
    ...(flags.ignore ? { ignore: flags.ignore } : {}),
    statusLines: !ctx.stderr.isTTY,
  });
  const report: CliContext = { ...ctx, stdout: ctx.stderr, globals: { ...ctx.globals, output: 'text' } };
  printScanReport(report, result, 'table');
  checkScanReport(result);
}
