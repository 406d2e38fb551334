// The one tag planner of push and promote: what each tag points at now, what writing the
// image under it would do (new, unchanged, moves, conflict), and the refusal — a broken tag
// rule or an immutable tag at another image — phrased once for both verbs.
import { RuleViolation } from '../errors.js';
import type { ImageTarget } from '../oci/store.js';
import { OCI_TAG } from '../policy/naming.js';
import type { RuleCheck, TagState } from '../policy/tags.js';

/** Returns what each tag points at in target now (undefined: absent or not a valid tag). */
export async function tagsAt(
  target: Pick<ImageTarget, 'headManifest'>,
  tags: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, string | undefined>> {
  const present = new Map<string, string | undefined>();
  for (const tag of tags) {
    present.set(tag, OCI_TAG.test(tag) ? (await target.headManifest(tag, { signal }))?.digest : undefined);
  }
  return present;
}

/** Returns the refusal for broken tag rules (`nothing` says what was not done), or undefined. */
export function brokenRules(
  checks: readonly RuleCheck[],
  opts: { nothing: string; value?: string; fix: string },
): RuleViolation | undefined {
  const errors = checks.filter((c) => c.status === 'error');
  if (errors.length === 0) return undefined;
  return new RuleViolation(
    `${errors.length === 1 ? `the tag rule ${errors[0]?.rule} is` : `${errors.length} tag rules are`} broken; ${opts.nothing}`,
    {
      rule: errors.map((c) => c.rule).join(', '),
      ...(opts.value !== undefined ? { value: opts.value } : {}),
      fix: opts.fix,
      problems: errors.map((c) => `${c.rule}: ${c.message}`),
    },
  );
}

/** The rule every immutable-tag refusal names. */
export const IMMUTABLE_TAG_RULE = 'an immutable tag keeps pointing at the image it was first pushed with';

/** Returns the tag states that conflict (an immutable tag at another image). */
export function conflictsOf(states: readonly TagState[]): TagState[] {
  return states.filter((s) => s.action === 'conflict');
}
