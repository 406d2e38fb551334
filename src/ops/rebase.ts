// `ecrctl rebase`: swaps the base layers of an image built on OLD for NEW's (crane/regctl
// rebase semantics), checking first that the image really sits on OLD and that OLD and NEW
// offer the same platforms. The top layers are kept byte for byte; blobs move like a build's.
import { RuleViolation } from '../errors.js';
import { formatPlatform } from '../oci/copy.js';
import { Annotation, type JsonObject } from '../oci/build/config.js';
import type { Session } from '../session.js';
import {
  type BasePlatform,
  type BuildOptions,
  type BuildResult,
  type OpenedBase,
  assemble,
  openImage,
  publish,
} from './build.js';

/** What `rebase` accepts. */
export interface RebaseOptions
  extends Pick<
    BuildOptions,
    'target' | 'tags' | 'strategies' | 'semverAliases' | 'createRepo' | 'dryRun' | 'concurrency'
  > {
  /** The image to rebase (registry reference or `oci:DIR[:TAG]`). */
  image: string;
  /** The base it was built on. */
  oldBase: string;
  /** The base to put under it instead. */
  newBase: string;
}

const key = (i: BasePlatform) => (i.platform ? formatPlatform(i.platform) : 'single');

function findFor(base: OpenedBase, img: BasePlatform): BasePlatform | undefined {
  if (base.images.length === 1 && (base.kind === 'image' || img.platform === undefined)) return base.images[0];
  return base.images.find((b) => key(b) === key(img));
}

/**
 * Rebases an image from OLD onto NEW and writes it to the target (tags as tag-push). Throws
 * RuleViolation when the image's first layers are not OLD's, or OLD and NEW differ in platforms.
 */
export async function rebase(session: Session, opts: RebaseOptions): Promise<BuildResult> {
  const img = await openImage(session, opts.image, 'all');
  const oldBase = await openImage(session, opts.oldBase, 'all');
  const newBase = await openImage(session, opts.newBase, 'all');
  try {
    const oldPlatforms = oldBase.images.map(key).sort().join(',');
    const newPlatforms = newBase.images.map(key).sort().join(',');
    if (oldBase.kind === 'index' && newBase.kind === 'index' && oldPlatforms !== newPlatforms) {
      throw new RuleViolation(`${opts.oldBase} and ${opts.newBase} offer different platforms; nothing was written`, {
        rule: 'the old and the new base have the same platforms',
        value: `${oldPlatforms} vs ${newPlatforms}`,
        fix: 'rebase onto a new base with the same platforms',
      });
    }
    const problems: string[] = [];
    const pairs = img.images.map((i) => {
      const o = findFor(oldBase, i);
      const n = findFor(newBase, i);
      if (!o || !n) {
        problems.push(`${key(i)}: ${!o ? opts.oldBase : opts.newBase} has no such platform`);
        return undefined;
      }
      const prefix = o.doc.layers.map((l) => l.digest);
      const mine = i.doc.layers.map((l) => l.digest);
      if (prefix.length > mine.length || prefix.some((d, k) => mine[k] !== d)) {
        problems.push(`${key(i)}: the image's first ${prefix.length} layers are not ${opts.oldBase}'s`);
      }
      return { img: i, old: o, next: n };
    });
    if (problems.length > 0) {
      throw new RuleViolation(`${opts.image} is not built on ${opts.oldBase}; nothing was written`, {
        rule: 'an image is rebased only from the base its first layers come from',
        value: opts.oldBase,
        fix: `name the base it was built on (see \`ecrctl check-base ${opts.image}\`)`,
        problems,
      });
    }
    const byKey = new Map(pairs.map((p) => [key(p!.img), p!]));
    // The result is described as "NEW plus the image's own layers": the base view is NEW.
    const view: OpenedBase = {
      ...newBase,
      kind: img.kind,
      images: pairs.map((p) => ({ ...p!.next, ...(p!.img.platform ? { platform: p!.img.platform } : {}) })),
    };
    const made = assemble(
      view,
      [],
      (b) => {
        const p = byKey.get(key(b))!;
        const cfg: JsonObject = structuredClone(p.img.config);
        const diffOf = (c: JsonObject) =>
          ((c.rootfs as JsonObject | undefined)?.diff_ids as string[] | undefined) ?? [];
        const histOf = (c: JsonObject) => (c.history as JsonObject[] | undefined) ?? [];
        const oldDiffs = diffOf(p.old.config);
        cfg.rootfs = {
          type: 'layers',
          diff_ids: [...diffOf(p.next.config), ...diffOf(p.img.config).slice(oldDiffs.length)],
        };
        const oldHist = histOf(p.old.config).length;
        cfg.history = [...histOf(p.next.config), ...histOf(p.img.config).slice(oldHist)];
        const own = { ...(p.img.doc.annotations ?? {}) };
        delete own[Annotation.baseName];
        delete own[Annotation.baseDigest];
        return {
          config: cfg,
          baseLayers: p.next.doc.layers,
          layers: p.img.doc.layers.slice(p.old.doc.layers.length),
          annotations: own,
        };
      },
      [newBase.source, img.source],
    );
    // The image's own layers are read from the image, never looked for in NEW first.
    for (const p of pairs)
      for (const l of p!.img.doc.layers.slice(p!.old.doc.layers.length)) made.source.addOrigin(l.digest, img.source);
    return await publish(session, made, view, opts, 'rebased', [img]);
  } finally {
    for (const b of [img, oldBase, newBase]) await b.source.close?.().catch(() => {});
  }
}
