// What a command-line reference means for the ECR API: the repository, the tag or digest,
// and the region and registry (account) that a full ECR host names. A host that is not ECR
// is refused, unless an endpoint (`ecrctl local`) is configured: then it is that endpoint's
// data plane and the default region and registry apply.
import { UsageError } from '../errors.js';
import { parseEcrHost } from '../ecr/hosts.js';
import { parseReference } from '../oci/reference.js';
import type { CliContext } from './context.js';

export interface EcrRef {
  /** The reference as written, for messages. */
  text: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** The region the host names; undefined: the default region. */
  region?: string;
  /** The account the host names, else --registry-id; undefined: the caller's own. */
  registryId?: string;
}

/** Returns the ECR repository, image and registry a reference names; UsageError for another registry. */
export function parseEcrRef(
  ctx: Pick<CliContext, 'globals' | 'env'>,
  text: string,
  names: 'image' | 'repository' = 'image',
): EcrRef {
  const ref = parseReference(text);
  const out: EcrRef = { text, repository: ref.repository };
  if (ctx.globals.registryId) out.registryId = ctx.globals.registryId;
  if (ref.tag !== undefined) out.tag = ref.tag;
  if (ref.digest !== undefined) out.digest = ref.digest;
  if (!ref.registry) return out;
  const host = parseEcrHost(ref.registry);
  if (host?.kind === 'private') {
    out.region = host.region;
    out.registryId = host.registryId;
  } else if (!ctx.globals.endpointUrl && !ctx.env.AWS_ENDPOINT_URL && !ctx.env.AWS_ENDPOINT_URL_ECR) {
    throw new UsageError(`${text} does not name a private ECR registry`, {
      value: text,
      fix:
        names === 'image'
          ? 'write repo:tag or repo@digest, or a reference on <account>.dkr.ecr.<region>.amazonaws.com'
          : 'write the repository name (team/app) or <account>.dkr.ecr.<region>.amazonaws.com/team/app',
    });
  }
  return out;
}

/**
 * Returns an ECR API connection for a command: the region and registry given, else the
 * default region (--region, AWS_REGION, the profile) and --registry-id.
 */
export async function ecrConnection(
  ctx: CliContext,
  where: { region?: string | undefined; registryId?: string | undefined } = {},
): Promise<import('../ecr/repositories.js').EcrConnection> {
  const [{ settingsFromContext, requireRegion }, { connectEcr }] = await Promise.all([
    import('../ecr/aws-config.js'),
    import('../ecr/repositories.js'),
  ]);
  const settings = settingsFromContext(ctx);
  const registryId = where.registryId ?? ctx.globals.registryId;
  return connectEcr(settings, {
    region: where.region ?? requireRegion(settings),
    ...(registryId ? { registryId } : {}),
  });
}
