// The control-plane listener: the ECR API (`AmazonEC2ContainerRegistry_V20150921.<Op>`) and
// the ECR Public API (`SpencerFrontendService.<Op>`), both AWS JSON 1.1 over POST /. The
// region comes from the SigV4 credential scope of the Authorization header; the signature
// itself is not checked (there are no secret keys here), but a request without one is
// refused as AWS refuses it.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LocalContext, takeFault } from './context.js';
import { ECR_OPERATIONS } from './ecr-api/index.js';
import type { OperationTable } from './ecr-api/kit.js';
import { settleReplication } from './ecr-api/replication.js';
import { PUBLIC_OPERATIONS } from './ecr-public/index.js';
import { ApiError } from './errors.js';
import { BodyTooLarge, readBody, send } from './http.js';
import { RegistryLimitError } from './store.js';
import { takeToken } from './throttle.js';

const SERVICES: Record<string, { iamPrefix: string; operations: OperationTable }> = {
  AmazonEC2ContainerRegistry_V20150921: { iamPrefix: 'ecr', operations: ECR_OPERATIONS },
  SpencerFrontendService: { iamPrefix: 'ecr-public', operations: PUBLIC_OPERATIONS },
};

// UploadLayerPart carries up to 10 MiB, base64-encoded inside JSON.
const MAX_API_BODY = 16 * 1024 * 1024;

/** Returns the region and access key id from a SigV4 Authorization header, or undefined. */
export function credentialScope(
  header: string | undefined,
): { accessKeyId: string; region: string; service: string } | undefined {
  if (!header) return undefined;
  const m = /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/.exec(header);
  if (!m) return undefined;
  return { accessKeyId: m[1] as string, region: m[3] as string, service: m[4] as string };
}

/** Handles one control-plane request. */
export async function handleApiRequest(ctx: LocalContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const reply = (status: number, doc: unknown, errorType?: string) => {
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-amz-json-1.1',
      'x-amzn-RequestId': requestId,
    };
    if (errorType) headers['x-amzn-ErrorType'] = errorType;
    send(res, status, headers, JSON.stringify(doc));
  };
  const fail = (err: ApiError) => {
    reply(err.status, { __type: err.type, message: err.message, ...err.extra }, err.type);
  };
  let opLabel = '-';
  try {
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, op] = target.split('.', 2) as [string, string | undefined];
    const family = Object.hasOwn(SERVICES, service) ? SERVICES[service] : undefined;
    if (req.method !== 'POST' || !family || !op || !Object.hasOwn(family.operations, op)) {
      // Coral names its own errors with a namespace; SDKs strip everything up to '#'.
      await drain(req);
      fail(
        new ApiError(
          'com.amazon.coral.service#UnknownOperationException',
          `Unknown operation ${target || '(no X-Amz-Target)'}`,
          400,
        ),
      );
      return;
    }
    opLabel = `${family.iamPrefix}:${op}`;
    const scope = credentialScope(req.headers.authorization);
    if (!req.headers.authorization) {
      await drain(req);
      fail(
        new ApiError(
          'com.amazon.coral.service#MissingAuthenticationTokenException',
          'Missing Authentication Token',
          403,
        ),
      );
      return;
    }
    if (!scope) {
      await drain(req);
      fail(
        new ApiError(
          'com.amazon.coral.service#IncompleteSignatureException',
          "Authorization header requires 'Credential' parameter of the form AKID/yyyymmdd/region/service/aws4_request",
          400,
        ),
      );
      return;
    }
    const body = await readBody(req, MAX_API_BODY);
    let input: Record<string, unknown> = {};
    if (body.length > 0) {
      try {
        const parsed: unknown = JSON.parse(body.toString('utf8'));
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        input = parsed as Record<string, unknown>;
      } catch {
        fail(new ApiError('SerializationException', 'Start of structure or map found where not expected'));
        return;
      }
    }
    ctx.calls.push(opLabel);
    const registryIds = Array.isArray(input.registryIds)
      ? input.registryIds.map(String)
      : typeof input.registryId === 'string'
        ? [input.registryId]
        : undefined;
    ctx.requests.push({
      call: opLabel,
      at: Date.now(),
      accessKeyId: scope.accessKeyId,
      ...(registryIds ? { registryIds } : {}),
    });
    const fault = takeFault(ctx, opLabel);
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.delayMs ?? 0));
    if (fault?.kind === 'expire-tokens') ctx.advanceClock(ctx.tokenTtlMs + 1000);
    if (fault?.kind === 'throttle') throw new ApiError('ThrottlingException', 'Rate exceeded', 400);
    // ECR's own rates (token buckets; LocalContext.throttleScale scales or disables them).
    if (
      family.iamPrefix === 'ecr' &&
      !takeToken(ctx, op, {
        account: typeof input.registryId === 'string' ? input.registryId : ctx.account,
        region: scope.region,
        repository: typeof input.repositoryName === 'string' ? input.repositoryName : undefined,
      })
    ) {
      throw new ApiError('ThrottlingException', 'Rate exceeded', 400);
    }
    // Replicas whose replication has run its course land before anything reads them.
    if (family.iamPrefix === 'ecr') await settleReplication(ctx);
    const handler = family.operations[op] as OperationTable[string];
    const output = await handler({ ctx, region: scope.region, accessKeyId: scope.accessKeyId, input });
    reply(200, output ?? {});
    ctx.log(`${opLabel} 200`);
  } catch (err) {
    if (err instanceof ApiError) {
      fail(err);
      ctx.log(`${opLabel} ${err.status} ${err.type}`);
    } else if (err instanceof RegistryLimitError) {
      fail(new ApiError('LimitExceededException', err.message));
      ctx.log(`${opLabel} 400 LimitExceededException (registry limit)`);
    } else if (err instanceof BodyTooLarge) {
      res.setHeader('Connection', 'close');
      fail(new ApiError('SerializationException', 'Request body too large', 413));
    } else {
      ctx.log(`${opLabel} 500 ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      fail(new ApiError('ServerException', 'An internal error occurred in the local endpoint', 500));
    }
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  try {
    await readBody(req, MAX_API_BODY);
  } catch {
    /* the response says what went wrong */
  }
}
