// ECR host recognition: which registry hosts are ECR, and which account and region a host
// names. The credential helper and the registry client both ask this before anything else,
// so it stays free of I/O and of the SDK.

/** The one ECR Public registry host. */
export const PUBLIC_ECR_HOST = 'public.ecr.aws';
/** ECR Public's dual-stack (IPv4 and IPv6) registry host. */
export const PUBLIC_ECR_DUAL_STACK_HOST = 'ecr-public.aws.com';
/** ECR Public's GetAuthorizationToken exists only in this region. */
export const PUBLIC_ECR_REGION = 'us-east-1';

/** An AWS partition as its ECR hosts show it. */
export interface EcrPartition {
  /** The partition id: aws, aws-cn, aws-us-gov, aws-eusc, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f. */
  id: string;
  /** The DNS suffix of `<account>.dkr.ecr[-fips].<region>.<suffix>`. */
  suffix: string;
  /** The DNS suffix of the dual-stack `<account>.dkr-ecr[-fips].<region>.<suffix>`. */
  dualStackSuffix: string;
  /** Whether a region name belongs to the partition. */
  regions: RegExp;
}

/**
 * The partitions, most specific first (aws-us-gov shares aws's suffixes and is told apart by
 * its region names). The same list as the SDK's partitions and amazon-ecr-credential-helper's
 * host pattern, with each partition's dual-stack suffix.
 */
export const ECR_PARTITIONS: readonly EcrPartition[] = [
  { id: 'aws-cn', suffix: 'amazonaws.com.cn', dualStackSuffix: 'on.amazonwebservices.com.cn', regions: /^cn-/ },
  { id: 'aws-eusc', suffix: 'amazonaws.eu', dualStackSuffix: 'on.amazonwebservices.eu', regions: /^eusc-/ },
  { id: 'aws-iso', suffix: 'c2s.ic.gov', dualStackSuffix: 'on.aws.ic.gov', regions: /^us-iso-/ },
  { id: 'aws-iso-b', suffix: 'sc2s.sgov.gov', dualStackSuffix: 'on.aws.scloud', regions: /^us-isob-/ },
  { id: 'aws-iso-e', suffix: 'cloud.adc-e.uk', dualStackSuffix: 'on.cloud-aws.adc-e.uk', regions: /^eu-isoe-/ },
  { id: 'aws-iso-f', suffix: 'csp.hci.ic.gov', dualStackSuffix: 'on.aws.hci.ic.gov', regions: /^us-isof-/ },
  { id: 'aws-us-gov', suffix: 'amazonaws.com', dualStackSuffix: 'on.aws', regions: /^us-gov-/ },
  { id: 'aws', suffix: 'amazonaws.com', dualStackSuffix: 'on.aws', regions: /^[a-z]{2}-/ },
];

/** Returns the partition of a region (aws for a name no other partition claims). */
export function partitionOf(region: string): EcrPartition {
  return ECR_PARTITIONS.find((p) => p.regions.test(region)) ?? (ECR_PARTITIONS.at(-1) as EcrPartition);
}

/** An ECR registry host, taken apart. */
export type EcrHost =
  | {
      kind: 'private';
      /** The host as given, lowercased, without a port. */
      host: string;
      registryId: string;
      region: string;
      /** The AWS partition (aws, aws-cn, aws-us-gov, aws-eusc, aws-iso…). */
      partition: string;
      fips: boolean;
      dualStack: boolean;
    }
  | {
      kind: 'public';
      /** public.ecr.aws, or its dual-stack name ecr-public.aws.com. */
      host: string;
      region: typeof PUBLIC_ECR_REGION;
      dualStack: boolean;
    };

const escapeDots = (s: string) => s.replace(/\./g, '\\.');
const SUFFIXES = [...new Set(ECR_PARTITIONS.flatMap((p) => [p.suffix, p.dualStackSuffix]))]
  .sort((x, y) => y.length - x.length)
  .map(escapeDots)
  .join('|');
// <account>.dkr.ecr[-fips].<region>.<suffix> and the dual-stack <account>.dkr-ecr[-fips].<region>.<suffix>.
const PRIVATE = new RegExp(`^([0-9]{12})\\.dkr([.-])ecr(-fips)?\\.([a-z]{2,5}(?:-[a-z]+)+-[0-9]+)\\.(${SUFFIXES})$`);

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

/** Returns the parts of an ECR host (private, FIPS, dual-stack, any partition, or public), or undefined. */
export function parseEcrHost(address: string): EcrHost | undefined {
  let host = registryHostOf(address);
  // ECR only listens on 443; an explicit :443 names the same registry.
  if (host.endsWith(':443')) host = host.slice(0, -4);
  if (host === PUBLIC_ECR_HOST || host === PUBLIC_ECR_DUAL_STACK_HOST) {
    return { kind: 'public', host, region: PUBLIC_ECR_REGION, dualStack: host === PUBLIC_ECR_DUAL_STACK_HOST };
  }
  const m = PRIVATE.exec(host);
  if (!m) return undefined;
  const dualStack = m[2] === '-';
  const region = m[4] as string;
  const suffix = m[5] as string;
  const partition = partitionOf(region);
  // The suffix must be the region's partition's (a cn- region on amazonaws.com is not ECR),
  // and the dual-stack suffix goes with dkr-ecr, the IPv4 one with dkr.ecr.
  if (suffix !== (dualStack ? partition.dualStackSuffix : partition.suffix)) return undefined;
  return {
    kind: 'private',
    host,
    registryId: m[1] as string,
    region,
    partition: partition.id,
    fips: m[3] !== undefined,
    dualStack,
  };
}

/**
 * Returns the private registry host of an account in a region, in the region's partition
 * (`.amazonaws.com.cn` in China, `.amazonaws.eu` in the European Sovereign Cloud, …); with
 * `dualStack`, the IPv4-and-IPv6 host (`dkr-ecr.<region>.on.aws` and its partition forms).
 */
export function privateRegistryHost(
  registryId: string,
  region: string,
  opts: { fips?: boolean; dualStack?: boolean } = {},
): string {
  const partition = partitionOf(region);
  const fips = opts.fips ? '-fips' : '';
  return opts.dualStack
    ? `${registryId}.dkr-ecr${fips}.${region}.${partition.dualStackSuffix}`
    : `${registryId}.dkr.ecr${fips}.${region}.${partition.suffix}`;
}

/** Returns true when a host is an ECR registry host (private or public). */
export function isEcrHost(address: string): boolean {
  return parseEcrHost(address) !== undefined;
}

/**
 * Returns true when the environment asks for dual-stack (IPv4 and IPv6) registry hosts:
 * `ECRCTL_DUAL_STACK` set to 1/true, or the SDK's own `AWS_USE_DUALSTACK_ENDPOINT=true`.
 */
export function dualStackWanted(env: NodeJS.ProcessEnv): boolean {
  const on = (v: string | undefined) => v !== undefined && /^(1|true|yes)$/i.test(v.trim());
  if (env.ECRCTL_DUAL_STACK !== undefined && env.ECRCTL_DUAL_STACK.trim() !== '') return on(env.ECRCTL_DUAL_STACK);
  return on(env.AWS_USE_DUALSTACK_ENDPOINT);
}

/**
 * Returns the dual-stack name of an ECR registry host (`<account>.dkr-ecr[-fips].<region>.on.aws`
 * and its partition forms; `ecr-public.aws.com` for ECR Public); any other host (a loopback
 * data plane, a custom domain) is returned unchanged. The same token serves both names.
 */
export function toDualStackHost(address: string): string {
  const parsed = parseEcrHost(address);
  if (parsed === undefined || parsed.dualStack) return address;
  if (parsed.kind === 'public') return PUBLIC_ECR_DUAL_STACK_HOST;
  return privateRegistryHost(parsed.registryId, parsed.region, { fips: parsed.fips, dualStack: true });
}
