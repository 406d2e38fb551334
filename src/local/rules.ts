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

/** Returns the AWS partition a region belongs to (aws-cn for cn-*, aws-us-gov for us-gov-*). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

const KMS_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):([0-9]{12}):(key\/[A-Za-z0-9-]+|alias\/[A-Za-z0-9/_-]+)$/;
const KMS_KEY_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const KMS_ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;

/**
 * Returns why a kmsKey is not a KMS key reference ECR could use in region — a key id, an
 * alias name, or a key or alias ARN in the same partition and region — or undefined when
 * its form is right. (Whether the key exists and may be used is KMS's answer; not here.)
 */
export function kmsKeyProblem(key: string, region: string | undefined): string | undefined {
  const arn = KMS_ARN.exec(key);
  if (arn) {
    if (region === undefined) return undefined;
    if (arn[1] !== partitionOf(region)) {
      return `the KMS key ${key} is in partition ${arn[1]}, but the repository is in ${region} (partition ${partitionOf(region)})`;
    }
    if (arn[2] !== region) {
      return `the KMS key ${key} is in region ${arn[2]}: a repository in ${region} can only use a key of its own region`;
    }
    return undefined;
  }
  if (key.startsWith('arn:')) {
    return `${key} is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID or …:alias/NAME)`;
  }
  if (KMS_KEY_ID.test(key) || KMS_ALIAS.test(key)) return undefined;
  return `${key} is not a KMS key id, alias (alias/NAME) or ARN`;
}

/**
 * Returns why a Secrets Manager secret ARN cannot be a pull-through cache credential in
 * region (another partition or region), or undefined when its form is right.
 */
export function secretArnProblem(arn: string, region: string): string | undefined {
  const m = /^arn:(aws[a-z-]*):secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:/.exec(arn);
  if (!m) return `${arn} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)`;
  if (m[1] !== partitionOf(region)) return `the secret ${arn} is in partition ${m[1]}, not ${partitionOf(region)}`;
  if (m[2] !== region)
    return `the secret ${arn} is in region ${m[2]}: a rule in ${region} can only use a secret of its own region`;
  return undefined;
}
