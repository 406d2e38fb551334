// ECR host recognition: which registry hosts are ECR, and which account and region a host
// names. The credential helper and the registry client both ask this before anything else,
// so it stays free of I/O and of the SDK.

/** The one ECR Public registry host. */
export const PUBLIC_ECR_HOST = 'public.ecr.aws';
/** ECR Public's GetAuthorizationToken exists only in this region. */
export const PUBLIC_ECR_REGION = 'us-east-1';

/** An ECR registry host, taken apart. */
export type EcrHost =
  | {
      kind: 'private';
      /** The host as given, lowercased, without a port. */
      host: string;
      registryId: string;
      region: string;
      fips: boolean;
      dualStack: boolean;
    }
  | { kind: 'public'; host: typeof PUBLIC_ECR_HOST; region: typeof PUBLIC_ECR_REGION };

// <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] and the dual-stack
// <account>.dkr-ecr[-fips].<region>.on.aws (on.amazonwebservices.com.cn in China).
const PRIVATE = /^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.amazonaws\.com(?:\.cn)?$/;
const DUAL_STACK =
  /^([0-9]{12})\.dkr-ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.on\.(?:aws|amazonwebservices\.com\.cn)$/;

/**
 * Returns the host part of a registry address as Docker and the credential helper protocol
 * pass it: drops a scheme, a path and a trailing slash; keeps a port; lowercases.
 */
export function registryHostOf(address: string): string {
  let s = address.trim();
  const scheme = s.indexOf('://');
  if (scheme >= 0) s = s.slice(scheme + 3);
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  return s.toLowerCase();
}

/** Returns the parts of an ECR host (private, FIPS, dual-stack or public), or undefined. */
export function parseEcrHost(address: string): EcrHost | undefined {
  let host = registryHostOf(address);
  // ECR only listens on 443; an explicit :443 names the same registry.
  if (host.endsWith(':443')) host = host.slice(0, -4);
  if (host === PUBLIC_ECR_HOST) return { kind: 'public', host: PUBLIC_ECR_HOST, region: PUBLIC_ECR_REGION };
  const m = PRIVATE.exec(host) ?? DUAL_STACK.exec(host);
  if (!m) return undefined;
  return {
    kind: 'private',
    host,
    registryId: m[1] as string,
    region: m[3] as string,
    fips: m[2] !== undefined,
    dualStack: host.includes('.dkr-ecr.'),
  };
}

/** Returns the private registry host of an account in a region (`.com.cn` in China). */
export function privateRegistryHost(registryId: string, region: string, opts: { fips?: boolean } = {}): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${registryId}.dkr.ecr${opts.fips ? '-fips' : ''}.${region}.${suffix}`;
}

/** Returns true when a host is an ECR registry host (private or public). */
export function isEcrHost(address: string): boolean {
  return parseEcrHost(address) !== undefined;
}
