// `ecrctl check-base`: has the image's base moved on? The base comes from the image's
// annotations (written by `ecrctl build`) or is named; "moved" means the base tag now points
// at another image than the one the image was built on — a patched base to rebase onto.
import { UsageError } from '../errors.js';
import { formatPlatform } from '../oci/copy.js';
import { Annotation } from '../oci/build/config.js';
import type { Session } from '../session.js';
import { openImage } from './build.js';

/** What `checkBase` accepts. */
export interface CheckBaseOptions {
  /** The image to check (registry reference or `oci:DIR[:TAG]`). */
  image: string;
  /** The base to compare with; default: the image's `org.opencontainers.image.base.name`. */
  base?: string;
}

/** Whether an image is on the current version of its base. */
export interface CheckBaseResult {
  image: string;
  /** The image's digest. */
  digest: string;
  base: string;
  /** The base digest the image records (absent when it records none). */
  builtOn?: string;
  /** What the base reference points at now. */
  current: string;
  /** True when the image is on the base's current version. */
  upToDate: boolean;
  /** Why not, in words (absent when up to date). */
  reason?: string;
}

/**
 * Returns whether the image's base tag still points at the image it was built on. With a
 * recorded base digest the digests are compared (an index base also matches through the
 * image's platform); without one, the base's current layers must be the image's first layers.
 */
export async function checkBase(session: Session, opts: CheckBaseOptions): Promise<CheckBaseResult> {
  const img = await openImage(session, opts.image, 'all');
  try {
    const doc = JSON.parse(img.root.bytes.toString('utf8')) as { annotations?: Record<string, string> };
    const notes = doc.annotations ?? {};
    const name = opts.base ?? notes[Annotation.baseName];
    if (!name) {
      throw new UsageError(`${opts.image} does not say which base it was built on`, {
        rule: `an image names its base in the ${Annotation.baseName} annotation (ecrctl build writes it)`,
        value: opts.image,
        fix: 'name the base: --base REGISTRY/REPO:TAG',
      });
    }
    const recorded =
      opts.base === undefined || opts.base === notes[Annotation.baseName] ? notes[Annotation.baseDigest] : undefined;
    const base = await openImage(session, name, 'all');
    try {
      const current = base.root.digest;
      let upToDate: boolean;
      let reason: string | undefined;
      if (recorded) {
        const viaPlatform = img.images.every((i) => {
          const own = i.doc.annotations?.[Annotation.baseDigest];
          return base.images.some(
            (b) =>
              b.manifest.digest === (own ?? recorded) &&
              (!i.platform || !b.platform || formatPlatform(i.platform) === formatPlatform(b.platform)),
          );
        });
        upToDate = current === recorded || viaPlatform;
        if (!upToDate) reason = `${name} now points at ${current}; the image was built on ${recorded}`;
      } else {
        const stale = img.images.filter((i) => {
          const b = base.images.find(
            (x) => !i.platform || !x.platform || formatPlatform(x.platform) === formatPlatform(i.platform),
          );
          if (!b) return true;
          return b.doc.layers.some((l, k) => i.doc.layers[k]?.digest !== l.digest);
        });
        upToDate = stale.length === 0;
        if (!upToDate) reason = `the image's first layers are not ${name}'s current layers`;
      }
      return {
        image: opts.image,
        digest: img.root.digest,
        base: name,
        ...(recorded ? { builtOn: recorded } : {}),
        current,
        upToDate,
        ...(reason ? { reason } : {}),
      };
    } finally {
      await base.source.close?.().catch(() => {});
    }
  } finally {
    await img.source.close?.().catch(() => {});
  }
}
