// Pure helpers around the simulator's decisions, shared by the offline `lifecycle simulate`
// and (later) the online form that fetches the image list from ECR: problem wording, totals,
// the protection check, and reading an image list or a protect list from text.
import { tagPatternMatcher } from './simulate.js';
import type { LifecycleDecision, LifecycleImage, LifecycleProblem } from './types.js';

/** Returns one line naming where a problem is, what it is and the fix. */
export function formatProblem(p: LifecycleProblem): string {
  const where: string[] = [];
  if (p.line !== undefined) where.push(`line ${p.line}:${p.column ?? 1}`);
  if (p.ruleIndex !== undefined) {
    where.push(
      p.rulePriority !== undefined ? `rule ${p.rulePriority} (rules[${p.ruleIndex}])` : `rules[${p.ruleIndex}]`,
    );
  }
  if (p.field !== undefined) where.push(p.field);
  const head = where.length > 0 ? `${where.join(' ')}: ` : '';
  return `${head}${p.message}${p.fix ? ` — fix: ${p.fix}` : ''}`;
}

export interface DecisionSummary {
  images: number;
  expire: number;
  transition: number;
  keep: number;
  /** Sum of sizeBytes over expired images (images without a size count as 0). */
  bytesFreed: number;
  /** Sum of sizeBytes over images moved to archive. */
  bytesArchived: number;
}

/** Returns counts and byte totals of a simulation. */
export function summarizeDecisions(decisions: readonly LifecycleDecision[]): DecisionSummary {
  const s: DecisionSummary = {
    images: decisions.length,
    expire: 0,
    transition: 0,
    keep: 0,
    bytesFreed: 0,
    bytesArchived: 0,
  };
  for (const d of decisions) {
    s[d.action]++;
    if (d.action === 'expire') s.bytesFreed += d.sizeBytes ?? 0;
    if (d.action === 'transition') s.bytesArchived += d.sizeBytes ?? 0;
  }
  return s;
}

export interface ProtectionViolation {
  /** The protect-list entry (a digest, a tag, or a tag pattern with `*`). */
  entry: string;
  decision: LifecycleDecision;
}

/**
 * Returns every expire decision that hits an entry of the protect list (digests match exactly;
 * other entries match tags, with `*` as in tagPatternList), and the entries that matched no image
 * at all (often a typo worth a warning).
 */
export function findProtectedExpirations(
  decisions: readonly LifecycleDecision[],
  protect: readonly string[],
): { violations: ProtectionViolation[]; unmatched: string[] } {
  const entries = protect.map((entry) => ({
    entry,
    // Tags cannot hold ":", digests always do (sha256:…).
    isDigest: entry.includes(':'),
    match: tagPatternMatcher(entry),
  }));
  const seen = new Set<string>();
  const violations: ProtectionViolation[] = [];
  for (const d of decisions) {
    for (const e of entries) {
      const hit = e.isDigest ? d.digest === e.entry : d.tags.some(e.match);
      if (!hit) continue;
      seen.add(e.entry);
      if (d.action === 'expire') violations.push({ entry: e.entry, decision: d });
    }
  }
  return { violations, unmatched: protect.filter((p) => !seen.has(p)) };
}

/** Returns the entries of a protect list: a JSON array of strings, or one entry per line (# comments). */
export function parseProtectList(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new Error(`not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== 'string'))
      throw new Error('a JSON protect list must be an array of strings');
    return (parsed as string[]).map((s) => s.trim()).filter((s) => s !== '');
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

/**
 * Returns images read from JSON text: an array, `{"images": […]}`, or the output of
 * `aws ecr describe-images` (`{"imageDetails": […]}` with imageDigest, imageTags,
 * imagePushedAt, lastRecordedPullTime, imageSizeInBytes, imageStatus, lastArchivedAt).
 * Dates are ISO 8601 strings or epoch seconds. Every bad entry is reported in `problems`.
 */
export function parseImageList(text: string): { images: LifecycleImage[]; problems: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { images: [], problems: [`not valid JSON: ${(err as Error).message}`] };
  }
  let list: unknown = doc;
  let base = '';
  if (isRecord(doc)) {
    if (Array.isArray(doc.images)) {
      list = doc.images;
      base = 'images';
    } else if (Array.isArray(doc.imageDetails)) {
      list = doc.imageDetails;
      base = 'imageDetails';
    }
  }
  if (!Array.isArray(list)) {
    return {
      images: [],
      problems: ['expected an array of images, {"images": […]}, or describe-images output {"imageDetails": […]}'],
    };
  }
  const images: LifecycleImage[] = [];
  const problems: string[] = [];
  list.forEach((raw: unknown, i) => {
    const at = `${base}[${i}]`;
    if (!isRecord(raw)) {
      problems.push(`${at}: an image must be an object`);
      return;
    }
    const digest = raw.digest ?? raw.imageDigest;
    if (typeof digest !== 'string' || digest === '') {
      problems.push(`${at}: "digest" (or "imageDigest") is missing`);
      return;
    }
    const tags = raw.tags ?? raw.imageTags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) {
      problems.push(`${at} (${digest}): "tags" must be an array of strings`);
      return;
    }
    const image: LifecycleImage = { digest, tags: tags as string[], pushedAt: new Date(0) };
    const dates: [keyof LifecycleImage, unknown, string][] = [
      ['pushedAt', raw.pushedAt ?? raw.imagePushedAt, 'pushedAt'],
      ['lastPulledAt', raw.lastPulledAt ?? raw.lastRecordedPullTime, 'lastPulledAt'],
      ['lastArchivedAt', raw.lastArchivedAt, 'lastArchivedAt'],
    ];
    let ok = true;
    for (const [key, value, name] of dates) {
      if (value === undefined || value === null) {
        if (key === 'pushedAt') {
          problems.push(`${at} (${digest}): "pushedAt" (or "imagePushedAt") is missing`);
          ok = false;
        }
        continue;
      }
      const date = toDate(value);
      if (!date) {
        problems.push(
          `${at} (${digest}): "${name}" is not a date: ${JSON.stringify(value)} (use ISO 8601, e.g. 2024-05-01T12:00:00Z)`,
        );
        ok = false;
        continue;
      }
      (image as unknown as Record<string, Date>)[key] = date;
    }
    const size = raw.sizeBytes ?? raw.imageSizeInBytes;
    if (size !== undefined && size !== null) {
      if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
        problems.push(`${at} (${digest}): "sizeBytes" must be a number of bytes`);
        ok = false;
      } else {
        image.sizeBytes = size;
      }
    }
    const storage =
      raw.storageClass ??
      (raw.imageStatus === undefined ? undefined : raw.imageStatus === 'ARCHIVED' ? 'archive' : 'standard');
    if (storage !== undefined) {
      if (storage !== 'standard' && storage !== 'archive') {
        problems.push(`${at} (${digest}): "storageClass" must be "standard" or "archive"`);
        ok = false;
      } else {
        image.storageClass = storage;
      }
    }
    const refs = raw.referencedBy;
    if (refs !== undefined) {
      if (!Array.isArray(refs) || refs.some((r) => typeof r !== 'string')) {
        problems.push(`${at} (${digest}): "referencedBy" must be an array of index digests`);
        ok = false;
      } else {
        image.referencedBy = refs as string[];
      }
    }
    if (ok) images.push(image);
  });
  return { images, problems };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toDate(v: unknown): Date | undefined {
  // The AWS CLI prints epoch seconds with some output settings; JSON has no date type.
  // Strings must start like ISO 8601: Date() would read "5" as the year 2005.
  const d =
    typeof v === 'number'
      ? new Date(v * 1000)
      : typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)
        ? new Date(v)
        : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}
