// `ecrctl delete REF…`: deletes images by tag or digest (or, with --untag-only, removes tags
// and keeps the images), at most 100 ids per BatchDeleteImage call, and reports what ECR
// said about each reference rather than assuming that everything asked for went away.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';

/** What happened to one reference. */
export interface DeleteResult {
  ref: string;
  repository: string;
  status: 'deleted' | 'untagged' | 'not-found' | 'failed';
  digest?: string;
  /** deleted: the tags that went with the image; untagged: the tag removed. */
  tags?: string[];
  code?: string;
  reason?: string;
}

interface ParsedRef {
  text: string;
  repository: string;
  tag?: string;
  digest?: string;
  region: string;
  registryId?: string;
}

/** Declares `ecrctl delete`. */
export function defineDelete(program: Command, host: CommandHost): void {
  program
    .command('delete')
    .summary('delete images by tag or digest, or remove tags with --untag-only')
    .description(
      'Deletes the images that REF names — repo:tag, repo@sha256:…, or a full ECR reference —\n' +
        'with all their tags. With --untag-only a tag is removed and the image kept; ECR deletes\n' +
        "an image when its last tag is removed, so ecrctl refuses to remove an image's only tag.\n" +
        'Exits 6 when a reference was not found (after deleting the rest), 1 on other failures.',
    )
    .argument(
      '<refs...>',
      'images: team/app:v1, team/app@sha256:…, 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1',
    )
    .option('--untag-only', 'remove the tags named and keep the images')
    .addHelpText(
      'after',
      examples(
        'ecrctl delete team/app:v1 team/app:v2',
        'ecrctl delete team/app@sha256:0123…',
        'ecrctl delete team/app:old-name --untag-only',
      ),
    )
    .action(async (refs: string[], opts: { untagOnly?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runDelete(ctx, refs, opts.untagOnly === true);
    });
}

async function parseRefs(
  ctx: CliContext,
  refs: string[],
  untagOnly: boolean,
  defaultRegion: string,
): Promise<ParsedRef[]> {
  const { parseEcrRef } = await import('../ecr-ref.js');
  const { UsageError } = await import('../../errors.js');
  return refs.map((text) => {
    const ref = parseEcrRef(ctx, text);
    const parsed: ParsedRef = { text, repository: ref.repository, region: ref.region ?? defaultRegion };
    if (ref.registryId) parsed.registryId = ref.registryId;
    if (ref.tag === undefined && ref.digest === undefined) {
      throw new UsageError(`${text} names no tag or digest`, {
        value: text,
        fix: `write ${text}:TAG or ${text}@sha256:…; \`ecrctl images ${ref.repository}\` lists them (to delete the repository, use delete-repo)`,
      });
    }
    if (ref.digest !== undefined) parsed.digest = ref.digest;
    else if (ref.tag !== undefined) parsed.tag = ref.tag;
    if (untagOnly && parsed.tag === undefined) {
      throw new UsageError(`--untag-only removes tags, but ${text} names a digest`, {
        value: text,
        fix: 'name the tag to remove (repo:tag), or drop --untag-only to delete the image',
      });
    }
    return parsed;
  });
}

async function runDelete(ctx: CliContext, refs: string[], untagOnly: boolean): Promise<void> {
  const { settingsFromContext, resolveRegion } = await import('../../ecr/aws-config.js');
  const { EcrctlError, NotFoundError } = await import('../../errors.js');
  const settings = settingsFromContext(ctx);
  const region = resolveRegion(settings) ?? '';
  const parsed = await parseRefs(ctx, refs, untagOnly, region);
  if (parsed.some((p) => p.region === '')) {
    const { requireRegion } = await import('../../ecr/aws-config.js');
    requireRegion(settings); // throws the usual "no region" error
  }
  const repos = await import('../../ecr/repositories.js');
  const images = await import('../../ecr/images.js');

  const groups = new Map<string, ParsedRef[]>();
  for (const p of parsed) {
    const key = `${p.region}\n${p.registryId ?? ''}\n${p.repository}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const results = new Map<ParsedRef, DeleteResult>();
  const base = (p: ParsedRef): DeleteResult => ({ ref: p.text, repository: p.repository, status: 'failed' });
  for (const members of groups.values()) {
    const first = members[0] as ParsedRef;
    const conn = await repos.connectEcr(settings, {
      region: first.region,
      ...(first.registryId ? { registryId: first.registryId } : {}),
    });
    const repository = first.repository;
    try {
      // Tags are resolved from one listing: a plain delete by tag deletes the image (by
      // digest), and --untag-only must know which other tags the image keeps.
      const byTag = new Map<string, { digest: string; tags: string[] }>();
      if (members.some((m) => m.tag !== undefined)) {
        for (const image of await images.listImages(conn, repository)) {
          for (const t of image.tags) byTag.set(t, { digest: image.digest, tags: image.tags });
        }
      }
      const ids: { digest?: string; tag?: string }[] = [];
      const seen = new Set<string>();
      const remaining = new Map<string, number>();
      // What each reference sends: the image's digest (delete), or its tag (--untag-only).
      const pending: { ref: ParsedRef; digest?: string; tag?: string }[] = [];
      for (const m of members) {
        if (m.digest !== undefined) {
          if (!seen.has(m.digest)) ids.push({ digest: m.digest });
          seen.add(m.digest);
          pending.push({ ref: m, digest: m.digest });
          continue;
        }
        const found = byTag.get(m.tag as string);
        if (!found) {
          results.set(m, {
            ...base(m),
            status: 'not-found',
            code: 'ImageNotFound',
            reason: `no image is tagged ${m.tag}`,
          });
          continue;
        }
        if (untagOnly) {
          const left = remaining.get(found.digest) ?? found.tags.length;
          if (left <= 1) {
            results.set(m, {
              ...base(m),
              digest: found.digest,
              code: 'OnlyTag',
              reason: `${m.tag} is the last tag of ${found.digest}; ECR deletes an image when its last tag is removed (add another tag first, or delete the image without --untag-only)`,
            });
            continue;
          }
          remaining.set(found.digest, left - 1);
          ids.push({ tag: m.tag as string });
          results.set(m, { ...base(m), digest: found.digest });
          pending.push({ ref: m, tag: m.tag as string });
          continue;
        }
        if (!seen.has(found.digest)) ids.push({ digest: found.digest });
        seen.add(found.digest);
        pending.push({ ref: m, digest: found.digest });
      }
      if (ids.length === 0) continue;
      const { deleted, failures } = await images.deleteImages(conn, repository, ids);
      for (const { ref: m, digest, tag } of pending) {
        const r = results.get(m) ?? base(m);
        if (digest !== undefined) {
          r.digest = digest;
          const failure = failures.find((f) => f.id.digest === digest && f.id.tag === undefined);
          const gone = deleted.filter((d) => d.digest === digest);
          if (failure)
            Object.assign(r, {
              status: failure.code === 'ImageNotFound' ? 'not-found' : 'failed',
              code: failure.code,
              reason: failure.reason,
            });
          else if (gone.length > 0)
            Object.assign(r, { status: 'deleted', tags: gone.flatMap((d) => (d.tag ? [d.tag] : [])).sort() });
          else
            Object.assign(r, {
              status: 'failed',
              reason: 'BatchDeleteImage reported neither a deletion nor a failure for it',
            });
        } else {
          const failure = failures.find((f) => f.id.tag === tag && f.id.digest === undefined);
          const gone = deleted.some((d) => d.tag === tag);
          if (failure)
            Object.assign(r, {
              status: failure.code === 'ImageNotFound' ? 'not-found' : 'failed',
              code: failure.code,
              reason: failure.reason,
            });
          else if (gone) Object.assign(r, { status: 'untagged', tags: [tag as string] });
          else
            Object.assign(r, {
              status: 'failed',
              reason: 'BatchDeleteImage reported neither a deletion nor a failure for it',
            });
        }
        results.set(m, r);
      }
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      // The repository itself is missing: every reference into it is not found.
      for (const m of members) {
        if (!results.has(m))
          results.set(m, { ...base(m), status: 'not-found', code: 'RepositoryNotFound', reason: err.message });
      }
    }
  }

  const list = parsed.map((p) => results.get(p) ?? base(p));
  const count = (s: DeleteResult['status']) => list.filter((r) => r.status === s).length;
  const summary = {
    deleted: count('deleted'),
    untagged: count('untagged'),
    notFound: count('not-found'),
    failed: count('failed'),
  };
  render(
    ctx,
    { results: list, ...summary },
    {
      text: (d) =>
        d.results
          .map((r) => {
            switch (r.status) {
              case 'deleted':
                return `deleted   ${r.ref} (${r.digest}${r.tags && r.tags.length > 0 ? `, tags ${r.tags.join(', ')}` : ', untagged'})`;
              case 'untagged':
                return `untagged  ${r.ref} (image ${r.digest} kept)`;
              case 'not-found':
                return `not found ${r.ref}: ${r.reason}`;
              default:
                return `failed    ${r.ref}: ${r.code ? `${r.code}: ` : ''}${r.reason}`;
            }
          })
          .join('\n'),
      env: (d) => ({
        DELETED: String(d.deleted),
        UNTAGGED: String(d.untagged),
        NOT_FOUND: String(d.notFound),
        FAILED: String(d.failed),
      }),
    },
  );
  if (summary.failed > 0) {
    throw new EcrctlError(
      `${summary.failed} of ${list.length} reference${list.length === 1 ? '' : 's'} could not be deleted`,
      {
        fix: 'see the reasons above',
      },
    );
  }
  if (summary.notFound > 0) {
    throw new NotFoundError(
      `${summary.notFound} of ${list.length} reference${list.length === 1 ? ' was' : 's were'} not found`,
      {
        fix: 'check the names with `ecrctl images REPO`',
      },
    );
  }
}
