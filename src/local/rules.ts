// The input rules the local endpoint enforces, as ECR states them in its API model. Kept
// here (not imported from the client's code) so the emulator stays an independent check
// of the client: a rule both sides share by import could be wrong on both at once.

/** The API model's private repository name pattern (2–256 characters), as ECR quotes it. */
export const REPOSITORY_NAME_PATTERN = '[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*';
/** ECR's private repository name rule. */
export const REPOSITORY_NAME = new RegExp(`^(?:${REPOSITORY_NAME_PATTERN})$`);
/** ECR Public repository name pattern (2–205 characters). */
export const PUBLIC_REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** The OCI distribution tag rule, enforced on the data plane. */
export const OCI_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** ECR's API tag rule: up to 300 characters of the same alphabet. */
export const API_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,299}$/;
/** A sha256 digest (the only algorithm ECR stores under). */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
/** A digest of any registered algorithm shape (for telling digests from tags). */
export const ANY_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** A 12-digit account id. */
export const REGISTRY_ID = /^[0-9]{12}$/;
/** A tag-mutability exclusion filter. */
export const EXCLUSION_FILTER = /^[0-9a-zA-Z._*-]{1,128}$/;

export const TAG_MUTABILITY = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;

/** Returns true when value matches an ECR wildcard filter (`*` = any run of characters). */
export function wildcardMatch(filter: string, value: string): boolean {
  const re = new RegExp(`^${filter.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Returns true when a tag cannot be moved to another image under a repository's setting. */
export function tagIsImmutable(
  mutability: string,
  filters: readonly { filter: string }[] | undefined,
  tag: string,
): boolean {
  const excluded = (filters ?? []).some((f) => wildcardMatch(f.filter, tag));
  switch (mutability) {
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
    default:
      return false;
  }
}
