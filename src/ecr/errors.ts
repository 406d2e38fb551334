// Turns what the AWS SDK throws into ecrctl's error kinds, with a message that says what to
// do. Works on the error's shape (name, $metadata, code) so it needs no SDK import.
import {
  AuthError,
  EcrctlError,
  HttpStatusError,
  isEcrctlError,
  NotFoundError,
  RateLimitedError,
  UsageError,
} from '../errors.js';
import { groupForAction, repositoryArnPattern } from '../policy/iam.js';

/** What the failing call was, so the message can name it and the IAM action it needs. */
export interface CallInfo {
  /** The API operation, e.g. `GetAuthorizationToken`. */
  operation: string;
  /** The IAM action it needs, e.g. `ecr:GetAuthorizationToken`. */
  permission?: string;
  /** The resource in the user's words (`repository team/app`), when there is one. */
  resource?: string;
  /** The endpoint URL when it was overridden (helps when a local endpoint is down). */
  endpoint?: string;
  region?: string;
}

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const NOT_FOUND = new Set([
  'RepositoryNotFoundException',
  'ImageNotFoundException',
  'RepositoryPolicyNotFoundException',
  'LifecyclePolicyNotFoundException',
  'LifecyclePolicyPreviewNotFoundException',
  'RegistryPolicyNotFoundException',
  'PullThroughCacheRuleNotFoundException',
  'TemplateNotFoundException',
  'ScanNotFoundException',
  'LayersNotFoundException',
  'UploadNotFoundException',
  'RepositoryCatalogDataNotFoundException',
  'ReferencedImagesNotFoundException',
  'ImageTagDoesNotMatchDigestException',
]);

const BAD_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredTokenException',
  'ExpiredToken',
  'RequestExpired',
]);

const THROTTLED = new Set(['ThrottlingException', 'TooManyRequestsException', 'Throttling']);

const NO_CREDENTIALS_FIX =
  'provide credentials in one of the ways the AWS CLI reads them: AWS_ACCESS_KEY_ID and ' +
  'AWS_SECRET_ACCESS_KEY; a profile in ~/.aws/config or ~/.aws/credentials (--profile / AWS_PROFILE); ' +
  '`aws sso login --profile NAME`; in GitHub Actions aws-actions/configure-aws-credentials; ' +
  'in CodeBuild or ECS the task role; on EC2 an instance profile';

/**
 * Returns true when err is the SDK failing to parse an answer that is not JSON (an HTML
 * error page from a proxy or load balancer, an endpoint that lacks the operation): the SDK
 * throws its parser's SyntaxError with the response attached.
 */
export function isNonJsonAnswer(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as SdkErrorShape & { $response?: unknown };
  return (
    (e.name === 'SyntaxError' || /Deserialization error/.test(e.message ?? '')) &&
    (e.$response !== undefined || e.$metadata?.httpStatusCode !== undefined)
  );
}

/** Returns the first line of an HTML page's <title>, if the body text has one (for messages). */
function pageTitle(err: unknown): string | undefined {
  const text = (err as { $responseBodyText?: unknown }).$responseBodyText;
  if (typeof text !== 'string') return undefined;
  const title = /<title[^>]*>([^<]{1,120})<\/title>/i.exec(text)?.[1]?.trim();
  return title ? title.replace(/\s+/g, ' ') : undefined;
}

/** Returns the ecrctl error for anything an SDK call threw (our own errors pass through). */
export function mapAwsError(err: unknown, call: CallInfo): EcrctlError {
  if (isEcrctlError(err)) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? '';
  const message = e.message ?? String(err);
  const status = e.$metadata?.httpStatusCode;
  const what = call.resource ? `${call.operation} (${call.resource})` : call.operation;

  if (isNonJsonAnswer(err)) {
    const title = pageTitle(err);
    return new EcrctlError(
      `${what} failed: the endpoint answered HTTP ${status ?? '(unknown status)'} with a non-JSON body (it may not implement ${call.operation})${title ? `; its page says "${title}"` : ''}`,
      {
        value: call.endpoint,
        fix: call.endpoint
          ? `check that ${call.endpoint} (--endpoint-url / AWS_ENDPOINT_URL) is an ECR API endpoint that serves ${call.operation}, and that no proxy (HTTPS_PROXY) answers in its place`
          : 'a proxy or gateway between here and ECR may have answered: check HTTPS_PROXY / NO_PROXY, or try again later',
        cause: err,
      },
    );
  }

  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    const profileMissing = /Profile (.+?) could not be found/i.exec(message);
    if (profileMissing) {
      return new AuthError(`AWS profile ${profileMissing[1]} could not be found`, {
        fix: 'check the profile name (--profile / AWS_PROFILE) against ~/.aws/config',
        cause: err,
      });
    }
    if (/Could not load credentials from any providers/i.test(message)) {
      return new AuthError('no AWS credentials were found', { fix: NO_CREDENTIALS_FIX, cause: err });
    }
    if (/SSO|token.*expired|refresh/i.test(message)) {
      return new AuthError(`AWS credentials could not be loaded: ${message}`, {
        fix: 'if you use AWS IAM Identity Center, run `aws sso login` (with your --profile) and try again',
        cause: err,
      });
    }
    return new AuthError(`AWS credentials could not be loaded: ${message}`, { fix: NO_CREDENTIALS_FIX, cause: err });
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || (status === 403 && !BAD_CREDENTIALS.has(name))) {
    return accessDenied(err, call, what, message);
  }
  if (BAD_CREDENTIALS.has(name)) {
    const expired = /Expired|RequestExpired/.test(name);
    return new AuthError(
      expired
        ? 'the AWS credentials have expired'
        : 'AWS rejected the credentials (unknown access key or bad signature)',
      {
        fix: expired
          ? 'refresh them (e.g. `aws sso login`, or re-run the step that assumes the role) and try again'
          : 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile, and that the clock of this machine is right',
        cause: err,
      },
    );
  }
  if (NOT_FOUND.has(name)) {
    return new NotFoundError(message || `${what}: not found`, { cause: err });
  }
  if (name === 'LimitExceededException') {
    // Not throttling, whatever the SDK's classification says: a daily limit or a quota.
    return new EcrctlError(`${what}: ECR refused it because a limit was reached: ${message}`, {
      rule: 'ECR allows one basic scan per image per 24 hours, and by default 10,000 images per repository and 10,000 repositories per registry',
      fix: 'for a scan, use the result of the last 24 hours or wait a day; for a quota, delete images or repositories no longer needed (a lifecycle policy keeps them in check) or request an increase in Service Quotas',
      cause: err,
    });
  }
  if (THROTTLED.has(name) || status === 429) {
    return new RateLimitedError(`ECR is throttling ${call.operation} requests: ${message}`, {
      fix: 'wait a moment and run again, or make fewer calls in parallel',
      cause: err,
    });
  }
  if (
    name === 'InvalidParameterException' ||
    name === 'ValidationException' ||
    name === 'InvalidTagParameterException'
  ) {
    return new UsageError(`${what}: ${message}`, { cause: err });
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH)$/.test(code)) {
    const where = call.endpoint ?? `the ECR endpoint of ${call.region ?? 'the region'}`;
    return new EcrctlError(`could not reach ${where} for ${call.operation} (${code})`, {
      fix: call.endpoint
        ? 'check --endpoint-url / AWS_ENDPOINT_URL (is `ecrctl local serve` running?)'
        : 'check the network connection, proxy settings and the --region',
      cause: err,
    });
  }
  if (status !== undefined && status >= 400) {
    return new HttpStatusError(`${what} failed: ${name ? `${name}: ` : ''}${message}`, status, { cause: err });
  }
  return new EcrctlError(`${what} failed: ${name ? `${name}: ` : ''}${message}`, { cause: err });
}

/**
 * Returns the AuthError for an access-denied answer: it names the action, the resource ARN
 * (from ECR's message, else built from the call) and the `ecrctl iam-policy` command that
 * prints a policy allowing it.
 */
function accessDenied(err: unknown, call: CallInfo, what: string, message: string): AuthError {
  const permission = call.permission ?? permissionIn(message);
  const account = /User: arn:aws[a-z-]*:(?:iam|sts)::([0-9]{12}):/.exec(message)?.[1];
  const repository =
    /repository\/(\S+?)\.?$/.exec(/on resource: (\S+)/.exec(message)?.[1] ?? '')?.[1] ??
    // callEcr's resource words: `repository team/app`, `image team/app:v1` / `image team/app@sha256:…`.
    /^(?:repository|image) ([^\s:@]+)/.exec(call.resource ?? '')?.[1];
  const named = /on resource: (\S+?)(?: because|$)/.exec(message)?.[1];
  const arn =
    (named && (named === '*' || named.startsWith('arn:')) ? named : undefined) ??
    (permission === 'ecr:GetAuthorizationToken'
      ? '*'
      : repository
        ? repositoryArnPattern(repository, call.region ?? '*', account ?? '*')
        : undefined);
  const group = permission ? groupForAction(permission) : undefined;
  const args = [
    'ecrctl iam-policy',
    group,
    repository ? `--repo ${repository}` : undefined,
    call.region ? `--region ${call.region}` : undefined,
    account ? `--account ${account}` : undefined,
  ].filter((a) => a !== undefined);
  return new AuthError(
    `access denied: ${what} needs the IAM permission ${permission ?? 'for this action'}${arn ? ` on ${arn}` : ''}`,
    {
      rule: `the caller's IAM policy must allow ${permission ?? call.operation}${arn ? ` on ${arn}` : ''}`,
      fix: group
        ? `\`${args.join(' ')}\` prints a least-privilege policy that allows it: attach it to the role or user you run as; ECR said: ${message}`
        : permission
          ? `add "${permission}" to the policy of the role or user you run as${permission === 'ecr:GetAuthorizationToken' ? ' (on Resource "*")' : ''}; ECR said: ${message}`
          : `ECR said: ${message}`,
      cause: err,
    },
  );
}

function permissionIn(message: string): string | undefined {
  return /perform:\s*([a-z0-9-]+:[A-Za-z0-9]+)/.exec(message)?.[1];
}
