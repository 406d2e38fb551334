// `ecrctl/cloudformation`: a Lambda handler for a CloudFormation custom resource that copies
// an image into ECR, built on the library (copy, createSession). What cdk-ecr-deployment
// does with a Go binary, in the same Node.js Lambda runtime as the rest of a CDK app.
//
// Create and Update copy the image and write its tags; Delete leaves the image alone unless
// asked. The response goes to the event's ResponseURL (a presigned S3 URL) and is returned.
import { request } from 'undici';
import { EcrctlError, InterruptedError, isEcrctlError, UsageError } from './errors.js';
import { deleteImages } from './ops/delete.js';
import { copy } from './ops/transfer.js';
import { createSession, type Session } from './session.js';

/**
 * The resource's properties, as a template declares them. CloudFormation passes every
 * scalar as a string, hence `'true'` rather than `true`.
 *
 * @example
 * ```yaml
 * AppImage:
 *   Type: Custom::EcrImage
 *   Properties:
 *     ServiceToken: !GetAtt EcrImageCopier.Arn
 *     Source: public.ecr.aws/docker/library/nginx:1.27
 *     Target: !Sub ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/mirror/nginx
 *     Tags: ['1.27', stable]
 *     Platform: linux/arm64
 * ```
 */
export interface ImageCopyProperties {
  /** The Lambda function's ARN (CloudFormation sends it along; not used). */
  ServiceToken?: string;
  /**
   * The image to copy: a registry reference (`docker.io/library/nginx:1.27`,
   * `public.ecr.aws/…`, `host/repo@sha256:…`). A reference without a host means the
   * function's own ECR registry.
   */
  Source: string;
  /**
   * The ECR repository to copy into: `team/app` (the function's account and region) or
   * `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app`. A tag here (`team/app:v1`) is
   * written too; a digest is refused.
   */
  Target: string;
  /** Tags to write at the target. With no tag here nor in Target, the image is tagged `latest`. */
  Tags?: string[] | string;
  /**
   * Copy one platform out of a multi-platform image (`linux/arm64`, `linux/amd64`,
   * `linux/arm/v7`): the target then holds that platform's image manifest alone, with no index
   * and no attestation manifests. Default: every platform, the index as it is.
   */
  Platform?: string;
  /** `'false'` leaves the image's referrers (signatures, SBOMs, attestations) behind. Default `'true'`. */
  Referrers?: 'true' | 'false' | boolean;
  /**
   * `'true'` deletes the copied image (by digest, with every tag on it) when the resource is
   * deleted, or replaced by an update that produced another image. Default: the image stays.
   */
  DeleteImage?: 'true' | 'false' | boolean;
}

/** A CloudFormation custom resource request, as the Lambda function receives it. */
export interface CustomResourceEvent<P = ImageCopyProperties> {
  RequestType: 'Create' | 'Update' | 'Delete';
  /** The presigned S3 URL the response goes to (absent when the handler is called directly). */
  ResponseURL?: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  ResourceType?: string;
  /** Set on Update and Delete: what the Create (or last Update) answered. */
  PhysicalResourceId?: string;
  ServiceToken?: string;
  ResourceProperties: P;
  /** Set on Update: the properties before the change. */
  OldResourceProperties?: P;
}

/** What a successful Create or Update gives the template (`!GetAtt AppImage.ImageUri`). */
export interface ImageCopyData {
  /** The image pinned by digest: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:…`. */
  ImageUri: string;
  /** The digest of the manifest now under every tag: `sha256:…`. */
  ImageDigest: string;
}

/** The response CloudFormation receives (the JSON put to ResponseURL). */
export interface CustomResourceResponse {
  Status: 'SUCCESS' | 'FAILED';
  /** Why it failed (also set on success when there is something to know). */
  Reason?: string;
  /** The image URI (`host/repo@sha256:…`) after a successful Create or Update. */
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  /** ImageUri and ImageDigest after a successful Create or Update. */
  Data?: ImageCopyData;
}

/** The parts of the Lambda context the handler uses. */
export interface LambdaContext {
  /** Milliseconds until Lambda stops the function: the copy is abandoned (and FAILED sent) before that. */
  getRemainingTimeInMillis?(): number;
  /** Named in a failure's Reason, to find the logs. */
  logStreamName?: string;
}

/** Where the handler writes what it does. Every method is optional: a missing one is silence. */
export interface CustomResourceLogger {
  /** A line about the work: what is copied or deleted, the copy's warnings. */
  info?(message: string): void;
  /** The response, once per event, before it is sent. */
  response?(response: CustomResourceResponse): void;
}

/** What handleCustomResource needs besides the event. */
export interface CustomResourceOptions {
  /** The session the copy runs with (credentials, region, cancellation). */
  session: Session;
  /** Default: silent. */
  logger?: CustomResourceLogger;
  /** The Lambda context, for the log stream named in a failure's Reason. */
  context?: LambdaContext;
  /**
   * Put the response to the event's ResponseURL (default true). False when something else
   * answers CloudFormation, e.g. the CDK Provider framework calling this as its onEvent.
   */
  respond?: boolean;
}

/** CloudFormation refuses a response body over 4 KiB: keep the reason well under it. */
const MAX_REASON = 2000;
/** How long before Lambda's own timeout the copy is abandoned, so that FAILED can still be sent. */
const DEADLINE_MARGIN_MS = 10_000;

/**
 * Handles one custom resource event with the session given, and answers CloudFormation.
 *
 * - Create, Update: copies `Source` to `Target` (every platform, or `Platform`'s image alone),
 *   writes every tag once all blobs and manifests are in place, carries referrers unless
 *   `Referrers` is `'false'`. The response's PhysicalResourceId and `Data.ImageUri` are the
 *   image pinned by digest; `Data.ImageDigest` its digest.
 * - Delete: does nothing to the image unless `DeleteImage` is `'true'`; then deletes the
 *   image the PhysicalResourceId names (an image already gone counts as deleted).
 *
 * A failure becomes a FAILED response with the reason (a failed copy leaves no tag written).
 * With a ResponseURL the response is put there (retried on network errors and 5xx);
 * in every case it is returned.
 *
 * @throws only when the response could not be delivered to ResponseURL.
 */
export async function handleCustomResource(
  event: CustomResourceEvent,
  options: CustomResourceOptions,
): Promise<CustomResourceResponse> {
  const { session } = options;
  const logger = options.logger ?? {};
  const response = await respondTo(event, session, logger, options.context);
  logger.response?.(response);
  if (event.ResponseURL && options.respond !== false) await sendResponse(event.ResponseURL, response);
  return response;
}

/**
 * The Lambda entry point: `Handler: index.handler` with this module as `index`, or
 * `export { handler } from 'ecrctl/cloudformation'` in your own function.
 *
 * Credentials and region come from the function's role and environment. The copy is
 * abandoned shortly before the function would time out, so that CloudFormation gets a
 * FAILED response instead of waiting an hour. Logs only the response (to CloudWatch Logs).
 */
export async function handler(event: CustomResourceEvent, context?: LambdaContext): Promise<CustomResourceResponse> {
  const controller = new AbortController();
  const remaining = context?.getRemainingTimeInMillis?.();
  const timer =
    remaining === undefined
      ? undefined
      : setTimeout(() => controller.abort(), Math.max(1_000, remaining - DEADLINE_MARGIN_MS));
  timer?.unref();
  const logger: CustomResourceLogger = {
    response: (r) => console.log(JSON.stringify({ cloudformationResponse: r })),
  };
  const session = createSession({ signal: controller.signal });
  try {
    return await handleCustomResource(event, { session, logger, ...(context ? { context } : {}) });
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Runs the request and builds the response; never throws. */
async function respondTo(
  event: CustomResourceEvent,
  session: Session,
  logger: CustomResourceLogger,
  context: LambdaContext | undefined,
): Promise<CustomResourceResponse> {
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  // A failed Create answers with an id that names no image, so that the rollback's Delete
  // finds nothing to delete.
  const current = event.PhysicalResourceId ?? `${event.LogicalResourceId}-${event.RequestId}`;
  try {
    if (event.RequestType === 'Delete') {
      const reason = await deleteResource(event, session, logger);
      return { Status: 'SUCCESS', PhysicalResourceId: current, ...(reason ? { Reason: reason } : {}), ...base };
    }
    if (event.RequestType !== 'Create' && event.RequestType !== 'Update') {
      throw new UsageError(`unknown RequestType ${JSON.stringify(event.RequestType)}`, {
        fix: 'CloudFormation sends Create, Update or Delete',
      });
    }
    const data = await copyResource(event.ResourceProperties, session, logger);
    return { Status: 'SUCCESS', PhysicalResourceId: data.ImageUri, Data: data, ...base };
  } catch (err) {
    return { Status: 'FAILED', Reason: reasonOf(err, session, context), PhysicalResourceId: current, ...base };
  }
}

/** Copies the image the properties name; returns the template's Data. */
async function copyResource(
  props: ImageCopyProperties | undefined,
  session: Session,
  logger: CustomResourceLogger,
): Promise<ImageCopyData> {
  const source = requiredString(props, 'Source');
  const target = requiredString(props, 'Target');
  const tags = tagsOf(props?.Tags);
  const platform = optionalString(props, 'Platform');
  const referrers = flag(props?.Referrers, 'Referrers', true);
  flag(props?.DeleteImage, 'DeleteImage', false);
  logger.info?.(
    `copying ${source} to ${target}${tags.length ? ` (tags ${tags.join(', ')})` : ''}${platform ? ` for ${platform}` : ''}`,
  );
  const result = await copy(session, {
    source,
    target,
    tags,
    referrers,
    ...(platform ? { platform } : {}),
  });
  logger.info?.(
    `copied ${result.imageUri}: tags ${result.tags.join(', ')}; ${result.blobs.uploaded} of ${result.blobs.total} blobs uploaded`,
  );
  return { ImageUri: result.imageUri, ImageDigest: result.digest };
}

/** Deletes the image of a resource when DeleteImage asks for it; returns a note for Reason. */
async function deleteResource(
  event: CustomResourceEvent,
  session: Session,
  logger: CustomResourceLogger,
): Promise<string | undefined> {
  if (!flag(event.ResourceProperties?.DeleteImage, 'DeleteImage', false)) {
    logger.info?.(`leaving ${event.PhysicalResourceId ?? 'the image'} in place (DeleteImage is not 'true')`);
    return undefined;
  }
  const id = event.PhysicalResourceId ?? '';
  if (!/^[^@]+@sha256:[0-9a-f]{64}$/.test(id)) {
    // The id of a Create that failed: there is no image.
    logger.info?.(`nothing to delete: ${id || 'no PhysicalResourceId'} names no image`);
    return undefined;
  }
  logger.info?.(`deleting ${id}`);
  const gone = await deleteImage(session, id);
  return gone === 'absent' ? `${id} was already gone` : undefined;
}

/** Deletes an ECR image by digest, with every tag on it (the library's deleteImages op). */
async function deleteImage(session: Session, imageUri: string): Promise<'deleted' | 'absent'> {
  const { results } = await deleteImages(session, { refs: [imageUri] });
  const r = results[0];
  if (r?.status === 'deleted') return 'deleted';
  if (r?.status === 'not-found') return 'absent';
  throw new EcrctlError(`ECR did not delete ${imageUri}: ${r?.code ?? 'failed'} ${r?.reason ?? ''}`.trim(), {
    value: imageUri,
    fix:
      r?.code === 'ImageReferencedByManifestList'
        ? 'an image index still lists it: delete the index first, or leave DeleteImage unset'
        : 'delete it by hand (`ecrctl delete REPO@DIGEST`), or leave DeleteImage unset',
  });
}

/** Returns the Reason of a FAILED response: the message, the fix, and where the logs are. */
function reasonOf(err: unknown, session: Session, context: LambdaContext | undefined): string {
  let text: string;
  if (err instanceof InterruptedError || (session.signal.aborted && !isEcrctlError(err))) {
    text =
      'stopped before it finished (the function was about to time out, or the request was cancelled); no tag was written';
    if (context?.getRemainingTimeInMillis) text += '. Raise the function timeout (up to 15 minutes) or its memory';
  } else if (isEcrctlError(err)) {
    text = err.message;
    if (err.value !== undefined && !text.includes(err.value)) text += ` (${err.value})`;
    if (err.fix) text += `. Fix: ${err.fix}`;
  } else {
    text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  if (context?.logStreamName) text += ` (log stream ${context.logStreamName})`;
  text = session.secrets.redact(text);
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

/** Returns a required string property, or throws UsageError naming it. */
function requiredString(props: ImageCopyProperties | undefined, name: 'Source' | 'Target'): string {
  const value = props?.[name];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new UsageError(`the resource property ${name} is required`, {
      value: value === undefined ? 'missing' : JSON.stringify(value),
      fix:
        name === 'Source'
          ? 'set Source to the image to copy, e.g. public.ecr.aws/docker/library/nginx:1.27'
          : 'set Target to an ECR repository, e.g. team/app or 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app',
    });
  }
  return value.trim();
}

function optionalString(props: ImageCopyProperties | undefined, name: 'Platform'): string | undefined {
  const value = props?.[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new UsageError(`the resource property ${name} is a string`, { value: JSON.stringify(value) });
  }
  return value.trim();
}

/** Returns the tags: a list, or one string of comma-separated tags. */
function tagsOf(value: unknown): string[] {
  if (value === undefined || value === '') return [];
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || list.some((t) => typeof t !== 'string')) {
    throw new UsageError('the resource property Tags is a list of strings', {
      value: JSON.stringify(value),
      fix: "write e.g. Tags: ['1.27', stable]",
    });
  }
  return [...new Set(list.map((t: string) => t.trim()).filter((t) => t !== ''))];
}

/** Returns a boolean property written as 'true' / 'false' (CloudFormation stringifies booleans). */
function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new UsageError(`the resource property ${name} is 'true' or 'false'`, { value: JSON.stringify(value) });
}

/**
 * Puts the response JSON to the presigned URL. No Content-Type: the URL's signature covers
 * an empty one. Retried three times on network errors and 5xx. Not tied to the session's
 * signal: after a timeout abort, the FAILED response must still go out.
 */
async function sendResponse(url: string, response: CustomResourceResponse): Promise<void> {
  const body = Buffer.from(JSON.stringify(response));
  let last: unknown;
  for (let attempt = 1; attempt <= 4; attempt++) {
    try {
      const res = await request(url, {
        method: 'PUT',
        body,
        headers: { 'content-type': '', 'content-length': String(body.length) },
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      await res.body.dump().catch(() => {});
      if (res.statusCode < 300) return;
      last = new Error(`HTTP ${res.statusCode}`);
      if (res.statusCode < 500) break;
    } catch (err) {
      last = err;
    }
    if (attempt < 4) await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
  }
  throw new EcrctlError(
    `could not send the response to CloudFormation: ${last instanceof Error ? last.message : String(last)}`,
    {
      fix: 'the stack waits for a response until its timeout; check that the function can reach Amazon S3 (a VPC function needs a NAT gateway or an S3 endpoint)',
      cause: last,
    },
  );
}
