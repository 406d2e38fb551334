// ECR managed signing behind one adapter: the registry's signing configuration
// (Get/Put/DeleteSigningConfiguration) and an image's signing status per signing profile
// (DescribeImageSigningStatus). Returns our own types and maps service exceptions to our
// errors. Also the pure check of a configuration against the API model's limits, so a bad
// configuration is refused before anything is sent.
import { EcrctlError } from '../errors.js';
import { awsErrorName, callEcr, type EcrConnection } from './repositories.js';

/** A repository filter of a signing rule (WILDCARD_MATCH only: `*` matches any run of characters). */
export interface SigningFilter {
  filter: string;
  filterType: string;
}

/** One signing rule: images pushed to repositories the filters match are signed with the profile. */
export interface SigningRule {
  signingProfileArn: string;
  /** Absent: every repository of the registry. */
  repositoryFilters?: SigningFilter[];
}

/** Where signing one image with one profile stands. */
export interface ImageSigningStatus {
  signingProfileArn: string;
  status: 'IN_PROGRESS' | 'COMPLETE' | 'FAILED' | string;
  failureCode?: string;
  failureReason?: string;
}

/** The API model's limits (SigningConfiguration, SigningRule, SigningRepositoryFilter). */
export const SIGNING_LIMITS = { rules: 10, filtersPerRule: 100, filterLength: 256, profileArnLength: 200 } as const;
const PROFILE_ARN = /^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\/signing-profiles\/[a-zA-Z0-9_]{2,}$/;
const FILTER = /^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*\/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$/;

/** Returns every way rules break the API model's limits (empty when they are fine). */
export function checkSigningRules(rules: readonly SigningRule[]): string[] {
  const problems: string[] = [];
  if (rules.length > SIGNING_LIMITS.rules)
    problems.push(`${rules.length} rules: a signing configuration has at most ${SIGNING_LIMITS.rules}`);
  rules.forEach((rule, i) => {
    const where = `rule ${i + 1}`;
    const arn = rule.signingProfileArn;
    if (typeof arn !== 'string' || arn === '') problems.push(`${where}: signingProfileArn is missing`);
    else if (arn.length > SIGNING_LIMITS.profileArnLength)
      problems.push(
        `${where}: signingProfileArn is ${arn.length} characters; at most ${SIGNING_LIMITS.profileArnLength}`,
      );
    else if (!PROFILE_ARN.test(arn)) {
      problems.push(
        `${where}: ${JSON.stringify(arn)} is not a signing profile ARN (arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME)`,
      );
    }
    const filters = rule.repositoryFilters;
    if (filters === undefined) return;
    if (!Array.isArray(filters) || filters.length === 0) {
      problems.push(
        `${where}: repositoryFilters, when given, holds 1–${SIGNING_LIMITS.filtersPerRule} filters (leave it out to sign every repository)`,
      );
      return;
    }
    if (filters.length > SIGNING_LIMITS.filtersPerRule)
      problems.push(`${where}: ${filters.length} filters; at most ${SIGNING_LIMITS.filtersPerRule} per rule`);
    for (const f of filters) {
      const text = typeof f?.filter === 'string' ? f.filter : '';
      if (f?.filterType !== 'WILDCARD_MATCH')
        problems.push(
          `${where}: filter ${JSON.stringify(text)} has filterType ${JSON.stringify(f?.filterType)}; only WILDCARD_MATCH exists`,
        );
      if (text.length < 1 || text.length > SIGNING_LIMITS.filterLength)
        problems.push(`${where}: filter ${JSON.stringify(text)} must be 1–${SIGNING_LIMITS.filterLength} characters`);
      else if (!FILTER.test(text)) {
        problems.push(
          `${where}: filter ${JSON.stringify(text)} is not a repository name pattern (lowercase letters, digits, . _ - /, and * as wildcard)`,
        );
      }
    }
  });
  return problems;
}

// Loosely typed SDK shapes, so no SDK type leaks out of this module.
type SdkRule = { signingProfileArn?: string; repositoryFilters?: { filter?: string; filterType?: string }[] };

function toRules(rules: SdkRule[] | undefined): SigningRule[] {
  return (rules ?? []).map((r) => {
    const rule: SigningRule = { signingProfileArn: r.signingProfileArn ?? '' };
    if (r.repositoryFilters && r.repositoryFilters.length > 0) {
      rule.repositoryFilters = r.repositoryFilters.map((f) => ({
        filter: f.filter ?? '',
        filterType: f.filterType ?? 'WILDCARD_MATCH',
      }));
    }
    return rule;
  });
}

/** Returns the registry's signing rules, or undefined when no signing configuration is set. */
export async function getSigningConfiguration(
  conn: EcrConnection,
): Promise<{ registryId?: string; rules: SigningRule[] } | undefined> {
  const { GetSigningConfigurationCommand } = conn.sdk;
  try {
    const out = await conn.client.send(new GetSigningConfigurationCommand({}));
    return {
      ...(out.registryId ? { registryId: out.registryId } : {}),
      rules: toRules(out.signingConfiguration?.rules),
    };
  } catch (err) {
    if (awsErrorName(err) === 'SigningConfigurationNotFoundException') return undefined;
    return callEcr(conn, 'GetSigningConfiguration', undefined, () => Promise.reject(err));
  }
}

/** Replaces the signing configuration with rules (already checked by the caller); returns what ECR stored. */
export async function putSigningConfiguration(
  conn: EcrConnection,
  rules: readonly SigningRule[],
): Promise<SigningRule[]> {
  const { PutSigningConfigurationCommand } = conn.sdk;
  const out = await callEcr(conn, 'PutSigningConfiguration', undefined, () =>
    conn.client.send(
      new PutSigningConfigurationCommand({
        signingConfiguration: {
          rules: rules.map((r) => ({
            signingProfileArn: r.signingProfileArn,
            ...(r.repositoryFilters
              ? {
                  repositoryFilters: r.repositoryFilters.map((f) => ({
                    filter: f.filter,
                    filterType: 'WILDCARD_MATCH' as const,
                  })),
                }
              : {}),
          })),
        },
      }),
    ),
  );
  return toRules(out.signingConfiguration?.rules ?? (rules as SdkRule[]));
}

/** Deletes the signing configuration; returns the rules it had, or undefined when there was none. */
export async function deleteSigningConfiguration(conn: EcrConnection): Promise<SigningRule[] | undefined> {
  const { DeleteSigningConfigurationCommand } = conn.sdk;
  try {
    const out = await conn.client.send(new DeleteSigningConfigurationCommand({}));
    return toRules(out.signingConfiguration?.rules);
  } catch (err) {
    if (awsErrorName(err) === 'SigningConfigurationNotFoundException') return undefined;
    return callEcr(conn, 'DeleteSigningConfiguration', undefined, () => Promise.reject(err));
  }
}

/** Returns an image's digest and its signing status per signing profile. */
export async function describeImageSigningStatus(
  conn: EcrConnection,
  repository: string,
  image: { tag?: string; digest?: string },
): Promise<{ digest: string; statuses: ImageSigningStatus[] }> {
  const { DescribeImageSigningStatusCommand } = conn.sdk;
  const imageId = image.digest ? { imageDigest: image.digest } : { imageTag: image.tag ?? 'latest' };
  const out = await callEcr(
    conn,
    'DescribeImageSigningStatus',
    `image ${repository}${image.digest ? `@${image.digest}` : `:${image.tag ?? 'latest'}`}`,
    () =>
      conn.client.send(
        new DescribeImageSigningStatusCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: repository,
          imageId,
        }),
      ),
  );
  const digest = out.imageId?.imageDigest ?? image.digest;
  if (!digest) throw new EcrctlError('DescribeImageSigningStatus returned no image digest');
  return {
    digest,
    statuses: (out.signingStatuses ?? []).map((s) => ({
      signingProfileArn: s.signingProfileArn ?? '',
      status: s.status ?? 'IN_PROGRESS',
      ...(s.failureCode ? { failureCode: s.failureCode } : {}),
      ...(s.failureReason ? { failureReason: s.failureReason } : {}),
    })),
  };
}
