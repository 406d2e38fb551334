// `ecrctl archive REF…` and `ecrctl restore REF…`: move images to ECR's archival storage
// class (cheap, long-term, cannot be pulled) and back to standard (UpdateImageStorageClass).
// Each reference is reported; the rest is still done when one fails.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';

type Target = 'ARCHIVE' | 'STANDARD';

/** What happened to one reference. */
interface StorageResult {
  ref: string;
  repository: string;
  digest?: string;
  /** ARCHIVED, ACTIVATING or ACTIVE; `not-found` / `failed` when ECR refused. */
  status: string;
  reason?: string;
}

/** Declares `ecrctl archive`. */
export function defineArchive(program: Command, host: CommandHost): void {
  program
    .command('archive')
    .summary('move images to the archival storage class (they cannot be pulled until restored)')
    .description(
      'Moves the images REF names (repo:tag, repo@sha256:…, or a full ECR reference) to the ECR\n' +
        'archival storage class: cheaper long-term storage, a 90-day minimum, and no pulls until\n' +
        '`ecrctl restore REF` brings them back. Archived images still appear in describe and list\n' +
        'calls with the status ARCHIVED. Exits 6 when a reference was not found, 1 on other failures.',
    )
    .argument('<refs...>', 'images: team/app:v1, team/app@sha256:…')
    .addHelpText('after', examples('ecrctl archive team/app:v1 team/app:v2', 'ecrctl archive team/app@sha256:0123…'))
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      await runStorageClass(host.context(cmd), refs, 'ARCHIVE');
    });
}

/** Declares `ecrctl restore`. */
export function defineRestore(program: Command, host: CommandHost): void {
  program
    .command('restore')
    .summary('restore archived images to the standard storage class')
    .description(
      'Restores archived images to the ECR standard storage class so they can be pulled again.\n' +
        'ECR reports ACTIVATING at first; a restore takes up to 20 minutes, after which the image\n' +
        'behaves like a newly pushed one. Exits 6 when a reference was not found, 1 on other failures.',
    )
    .argument('<refs...>', 'images: team/app:v1, team/app@sha256:…')
    .addHelpText('after', examples('ecrctl restore team/app:v1', 'ecrctl restore team/app@sha256:0123… -o json'))
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      await runStorageClass(host.context(cmd), refs, 'STANDARD');
    });
}

async function runStorageClass(ctx: CliContext, refs: string[], target: Target): Promise<void> {
  const { parseEcrRef } = await import('../ecr-ref.js');
  const { settingsFromContext, requireRegion } = await import('../../ecr/aws-config.js');
  const { connectEcr } = await import('../../ecr/repositories.js');
  const { updateImageStorageClass } = await import('../../ecr/storage-class.js');
  const { EcrctlError, NotFoundError, UsageError, isEcrctlError } = await import('../../errors.js');
  const settings = settingsFromContext(ctx);
  const verb = target === 'ARCHIVE' ? 'archive' : 'restore';

  // Every reference is checked before the first call.
  const parsed = refs.map((text) => {
    const ref = parseEcrRef(ctx, text);
    const { region, registryId } = ref;
    if (ref.tag === undefined && ref.digest === undefined) {
      throw new UsageError(`${text} names no tag or digest`, {
        value: text,
        fix: `write ${text}:TAG or ${text}@sha256:…; \`ecrctl images ${ref.repository}\` lists them`,
      });
    }
    return { text, repository: ref.repository, tag: ref.tag, digest: ref.digest, region, registryId };
  });

  const results: StorageResult[] = [];
  const connections = new Map<string, Awaited<ReturnType<typeof connectEcr>>>();
  for (const p of parsed) {
    const region = p.region ?? requireRegion(settings);
    const key = `${region}/${p.registryId ?? ''}`;
    let conn = connections.get(key);
    if (!conn) {
      conn = await connectEcr(settings, { region, ...(p.registryId ? { registryId: p.registryId } : {}) });
      connections.set(key, conn);
    }
    try {
      const out = await updateImageStorageClass(
        conn,
        { repository: p.repository, ...(p.digest ? { digest: p.digest } : p.tag ? { tag: p.tag } : {}) },
        target,
      );
      results.push({
        ref: p.text,
        repository: p.repository,
        ...(out.digest ? { digest: out.digest } : {}),
        status: out.status,
      });
      ctx.log.info(`${p.text}: ${out.status}`);
    } catch (err) {
      // Credentials and access problems stop everything: the next reference would fail alike.
      if (!isEcrctlError(err) || err.exitCode === 5) throw err;
      const notFound = err instanceof NotFoundError;
      results.push({
        ref: p.text,
        repository: p.repository,
        status: notFound ? 'not-found' : 'failed',
        reason: err.message,
      });
      ctx.log.warn(`${p.text}: ${err.message}`);
    }
  }

  render(
    ctx,
    { results },
    {
      text: (d) => d.results.map((r) => `${r.ref}\t${r.status}${r.digest ? `\t${r.digest}` : ''}`).join('\n'),
      env: (d) => ({
        IMAGE_STATUSES: d.results.map((r) => `${r.ref}=${r.status}`).join(','),
        ...(d.results.length === 1
          ? { IMAGE_STATUS: d.results[0]?.status ?? '', IMAGE_DIGEST: d.results[0]?.digest ?? '' }
          : {}),
      }),
    },
  );
  const missing = results.filter((r) => r.status === 'not-found');
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length > 0) {
    throw new EcrctlError(
      `could not ${verb} ${failed.length} of ${results.length} image${results.length === 1 ? '' : 's'}`,
      {
        fix: failed.map((f) => `${f.ref}: ${f.reason}`).join('; '),
      },
    );
  }
  if (missing.length > 0) {
    throw new NotFoundError(
      `${missing.length} of ${results.length} image${results.length === 1 ? '' : 's'} not found: ${missing.map((m) => m.ref).join(', ')}`,
      {
        fix: '`ecrctl images REPO` lists the images (archived images are listed with their status)',
      },
    );
  }
}
