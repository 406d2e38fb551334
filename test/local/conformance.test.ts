// Issue 19 #14: every operation `ecrctl local` serves answers in the shape of the installed
// SDK's service model. The SDKs ship their models as schemas (the `<Operation>$` exports the
// protocol serializer uses): structures with their member names, member types and the count
// of required members, lists and maps. Enum value sets come from the SDK's enum objects
// matched to members through its type declarations, and each operation's errors from its
// command's `@throws` list. Requests go over plain HTTP (the endpoint reads the SigV4 scope
// but checks no signature), so the raw JSON is judged, not what an SDK makes of it.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ecrModel from '@aws-sdk/client-ecr';
import * as publicModel from '@aws-sdk/client-ecr-public';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECR_OPERATIONS } from '../../src/local/ecr-api/index.js';
import { PUBLIC_OPERATIONS } from '../../src/local/ecr-public/index.js';
import type { LocalServer } from '../../src/local/server.js';
import { digestOf, start, tempDir } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// The model, read from the installed SDKs.

type Schema = unknown;
interface Service {
  name: string;
  target: string;
  module: Record<string, unknown>;
  /** "Shape.member" → allowed enum values. */
  enums: Map<string, Set<string>>;
  /** Operation → error names its command declares. */
  errors: Map<string, Set<string>>;
}

const require_ = createRequire(import.meta.url);

function sdkDir(pkg: string): string {
  return path.dirname(path.dirname(require_.resolve(pkg)));
}

/** Reads enum sets per member and declared errors per operation from the SDK's .d.ts files. */
function loadService(pkg: string, target: string, module: Record<string, unknown>): Service {
  const dir = sdkDir(pkg);
  const enumValues = new Map<string, Set<string>>();
  for (const [name, value] of Object.entries(module)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const vals = Object.values(value);
      if (vals.length > 0 && vals.every((v) => typeof v === 'string')) enumValues.set(name, new Set(vals as string[]));
    }
  }
  const enums = new Map<string, Set<string>>();
  const modelsDir = path.join(dir, 'dist-types', 'models');
  for (const file of readdirSync(modelsDir)) {
    const text = readFileSync(path.join(modelsDir, file), 'utf8');
    for (const m of text.matchAll(/export interface (\w+) \{([\s\S]*?)\n\}/g)) {
      for (const member of (m[2] ?? '').matchAll(/^\s+(\w+)\??: (\w+)(?:\[\])?(?: \| undefined)?;$/gm)) {
        const values = enumValues.get(member[2] ?? '');
        if (values) enums.set(`${m[1]}.${member[1]}`, values);
      }
    }
  }
  const errors = new Map<string, Set<string>>();
  const commandsDir = path.join(dir, 'dist-types', 'commands');
  for (const file of readdirSync(commandsDir)) {
    const op = /^(\w+)Command\.d\.ts$/.exec(file)?.[1];
    if (!op) continue;
    const text = readFileSync(path.join(commandsDir, file), 'utf8');
    errors.set(
      op,
      new Set(
        [...text.matchAll(/@throws \{@link (\w+)\}/g)]
          .map((x) => x[1] as string)
          .filter((n) => !n.endsWith('ServiceException')),
      ),
    );
  }
  return { name: pkg, target, module, enums, errors };
}

const deref = (s: Schema): Schema => (typeof s === 'function' ? (s as () => Schema)() : s);

/** Returns every way value breaks schema (empty when it conforms). */
function validate(service: Service, schema: Schema, value: unknown, at: string, out: string[]): void {
  const s = deref(schema);
  if (typeof s === 'number') {
    validateSimple(s, value, at, out);
    return;
  }
  if (!Array.isArray(s)) {
    out.push(`${at}: unknown schema ${String(s)}`);
    return;
  }
  const kind = s[0] as number;
  if (kind === 3 || kind === -3) {
    const name = s[2] as string;
    const members = s[4] as string[];
    const schemas = s[5] as Schema[];
    const required = (s[6] as number | undefined) ?? 0;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      out.push(`${at}: ${name} must be an object, got ${JSON.stringify(value)}`);
      return;
    }
    const doc = value as Record<string, unknown>;
    for (const key of Object.keys(doc)) {
      if (kind === -3 && key === '__type') continue;
      if (!members.includes(key)) out.push(`${at}: ${name} has no member '${key}'`);
    }
    members.forEach((member, i) => {
      const v = doc[member];
      if (v === undefined || v === null) {
        if (i < required) out.push(`${at}.${member}: required by ${name}, missing`);
        return;
      }
      validate(service, schemas[i], v, `${at}.${member}`, out);
      const values = service.enums.get(`${name}.${member}`);
      if (values) {
        for (const item of Array.isArray(v) ? v : [v]) {
          if (typeof item === 'string' && !values.has(item))
            out.push(`${at}.${member}: '${item}' is not one of ${[...values].join(', ')}`);
        }
      }
    });
    return;
  }
  if (kind === 1) {
    if (!Array.isArray(value)) {
      out.push(`${at}: ${String(s[2])} must be a list`);
      return;
    }
    for (const [i, v] of value.entries()) validate(service, s[4], v, `${at}[${i}]`, out);
    return;
  }
  if (kind === 2) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      out.push(`${at}: ${String(s[2])} must be a map`);
      return;
    }
    for (const [k, v] of Object.entries(value)) validate(service, s[5], v, `${at}.${k}`, out);
    return;
  }
  out.push(`${at}: schema kind ${kind} not understood`);
}

function validateSimple(code: number, value: unknown, at: string, out: string[]): void {
  if (code & 0b0100_0000) {
    if (!Array.isArray(value)) out.push(`${at}: must be a list`);
    else for (const [i, v] of value.entries()) validateSimple(code & 0b0011_1111, v, `${at}[${i}]`, out);
    return;
  }
  if (code & 0b1000_0000) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) out.push(`${at}: must be a map`);
    else for (const [k, v] of Object.entries(value)) validateSimple(code & 0b0011_1111, v, `${at}.${k}`, out);
    return;
  }
  const type = typeof value;
  if (code === 0 && type !== 'string') out.push(`${at}: must be a string, got ${JSON.stringify(value)}`);
  if ((code === 1 || code === 0b0001_0001 || code === 0b0001_0011) && type !== 'number')
    out.push(`${at}: must be a number, got ${JSON.stringify(value)}`);
  if (code === 2 && type !== 'boolean') out.push(`${at}: must be a boolean, got ${JSON.stringify(value)}`);
  // awsJson1_1 sends timestamps as epoch seconds.
  if (code >= 4 && code <= 7 && type !== 'number')
    out.push(`${at}: timestamp must be epoch seconds, got ${JSON.stringify(value)}`);
  if (code === 0b0001_0101 && (type !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value as string)))
    out.push(`${at}: blob must be base64`);
}

// Errors any AWS JSON service may answer without declaring them (the AWS SDKs' common set).
const COMMON_ERRORS = new Set([
  'ThrottlingException',
  'SerializationException',
  'UnknownOperationException',
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'AccessDeniedException',
  'UnrecognizedClientException',
]);

// ---------------------------------------------------------------------------------------------
// Calling the endpoint.

let server: LocalServer;
let tmp: { dir: string; remove: () => void };
const ECR = loadService(
  '@aws-sdk/client-ecr',
  'AmazonEC2ContainerRegistry_V20150921',
  ecrModel as Record<string, unknown>,
);
const PUBLIC = loadService(
  '@aws-sdk/client-ecr-public',
  'SpencerFrontendService',
  publicModel as Record<string, unknown>,
);
const called = { ecr: new Set<string>(), public: new Set<string>() };
const problems: string[] = [];

async function raw(service: Service, op: string, input: Record<string, unknown>) {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `${service.target}.${op}`,
      Authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDCONFORM/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(input),
  });
  return { status: res.status, body: JSON.parse(await res.text()) as Record<string, unknown> };
}

/** Calls op, checks the answer against the model (output or declared error), returns the body. */
async function call(
  service: Service,
  op: string,
  input: Record<string, unknown>,
  expect: 'ok' | 'error' | 'any' = 'ok',
): Promise<Record<string, unknown>> {
  (service === ECR ? called.ecr : called.public).add(op);
  const opSchema = service.module[`${op}$`] as unknown[] | undefined;
  if (!opSchema) {
    problems.push(`${op}: not in the ${service.name} model`);
    return {};
  }
  const { status, body } = await raw(service, op, input);
  const out: string[] = [];
  if (status === 200) {
    if (expect === 'error') out.push(`answered 200 where an error was expected`);
    validate(service, opSchema[5], body, 'output', out);
  } else {
    if (expect === 'ok') out.push(`answered ${status} ${String(body.__type)}: ${String(body.message)}`);
    const type = String(body.__type ?? '').replace(/^.*#/, '');
    const declared = service.errors.get(op) ?? new Set();
    if (!declared.has(type) && !COMMON_ERRORS.has(type)) {
      out.push(`error ${type} is not one the model declares for ${op} (${[...declared].join(', ')})`);
    }
    const shape = service.module[`${type}$`];
    if (Array.isArray(shape)) validate(service, shape, body, `error ${type}`, out);
  }
  for (const p of out) problems.push(`${service === ECR ? 'ecr' : 'ecr-public'}:${op}: ${p}`);
  return body;
}

beforeAll(async () => {
  tmp = tempDir('ecrctl-conformance-');
  server = await start(path.join(tmp.dir, 'data'));
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

// ---------------------------------------------------------------------------------------------

async function uploadBlob(repositoryName: string, bytes: Buffer): Promise<string> {
  const init = await call(ECR, 'InitiateLayerUpload', { repositoryName });
  const uploadId = init.uploadId as string;
  await call(ECR, 'UploadLayerPart', {
    repositoryName,
    uploadId,
    partFirstByte: 0,
    partLastByte: bytes.length - 1,
    layerPartBlob: bytes.toString('base64'),
  });
  const digest = digestOf(bytes);
  await call(ECR, 'CompleteLayerUpload', { repositoryName, uploadId, layerDigests: [digest] });
  return digest;
}

describe('conformance with the SDK service models', () => {
  it('answers every ECR operation it serves in the shape of the model', async () => {
    const repo = 'conf/app';
    const account = '123456789012';
    await call(ECR, 'GetAuthorizationToken', {});
    const created = await call(ECR, 'CreateRepository', {
      repositoryName: repo,
      tags: [{ Key: 'team', Value: 'a' }],
      imageScanningConfiguration: { scanOnPush: false },
    });
    const arn = (created.repository as { repositoryArn: string }).repositoryArn;
    await call(ECR, 'DescribeRepositories', {});
    await call(ECR, 'DescribeRepositories', { repositoryNames: [repo] });
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const layer = Buffer.from('a layer of bytes\n'.repeat(10));
    const configDigest = await uploadBlob(repo, config);
    const layerDigest = await uploadBlob(repo, layer);
    await call(ECR, 'BatchCheckLayerAvailability', {
      repositoryName: repo,
      layerDigests: [layerDigest, digestOf('x')],
    });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    });
    const digest = digestOf(manifest);
    await call(ECR, 'PutImage', { repositoryName: repo, imageManifest: manifest, imageTag: 'v1' });
    await call(ECR, 'StartImageScan', { repositoryName: repo, imageId: { imageDigest: digest } });
    await call(ECR, 'BatchGetImage', { repositoryName: repo, imageIds: [{ imageTag: 'v1' }, { imageTag: 'nope' }] });
    await call(ECR, 'DescribeImages', { repositoryName: repo });
    await call(ECR, 'ListImages', { repositoryName: repo });
    await call(ECR, 'GetDownloadUrlForLayer', { repositoryName: repo, layerDigest });
    await call(ECR, 'PutImageTagMutability', { repositoryName: repo, imageTagMutability: 'MUTABLE' });
    await call(ECR, 'PutImageScanningConfiguration', {
      repositoryName: repo,
      imageScanningConfiguration: { scanOnPush: true },
    });
    const repoPolicy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'pull',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: ['ecr:BatchGetImage'],
        },
      ],
    });
    await call(ECR, 'SetRepositoryPolicy', { repositoryName: repo, policyText: repoPolicy });
    await call(ECR, 'GetRepositoryPolicy', { repositoryName: repo });
    await call(ECR, 'DeleteRepositoryPolicy', { repositoryName: repo });
    const lifecycle = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: 'keep few',
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 },
          action: { type: 'expire' },
        },
      ],
    });
    await call(ECR, 'PutLifecyclePolicy', { repositoryName: repo, lifecyclePolicyText: lifecycle });
    await call(ECR, 'GetLifecyclePolicy', { repositoryName: repo });
    await call(ECR, 'StartLifecyclePolicyPreview', { repositoryName: repo });
    await call(ECR, 'GetLifecyclePolicyPreview', { repositoryName: repo });
    await call(ECR, 'DeleteLifecyclePolicy', { repositoryName: repo });
    await call(ECR, 'TagResource', { resourceArn: arn, tags: [{ Key: 'env', Value: 'dev' }] });
    await call(ECR, 'ListTagsForResource', { resourceArn: arn });
    await call(ECR, 'UntagResource', { resourceArn: arn, tagKeys: ['env'] });
    const registryPolicy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'replicate',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
          Resource: `arn:aws:ecr:us-east-1:${account}:repository/*`,
        },
      ],
    });
    await call(ECR, 'PutRegistryPolicy', { policyText: registryPolicy });
    await call(ECR, 'GetRegistryPolicy', {});
    await call(ECR, 'DeleteRegistryPolicy', {});
    await call(ECR, 'DescribeImageScanFindings', { repositoryName: repo, imageId: { imageDigest: digest } });
    await call(ECR, 'GetRegistryScanningConfiguration', {});
    await call(ECR, 'PutRegistryScanningConfiguration', {
      scanType: 'BASIC',
      rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: 'conf/*', filterType: 'WILDCARD' }] }],
    });
    await call(ECR, 'BatchGetRepositoryScanningConfiguration', { repositoryNames: [repo, 'conf/none'] });
    const destination = { region: 'us-west-2', registryId: account };
    await call(ECR, 'PutReplicationConfiguration', {
      replicationConfiguration: { rules: [{ destinations: [destination] }] },
    });
    await call(ECR, 'DescribeRegistry', {});
    await call(ECR, 'DescribeImageReplicationStatus', { repositoryName: repo, imageId: { imageDigest: digest } });
    const backfill = await call(ECR, 'StartReplicationBackfill', { destination });
    await call(ECR, 'ListReplicationBackfills', {});
    const backfillId = (backfill.replicationBackfillId ?? '') as string;
    await call(ECR, 'DescribeReplicationBackfillResults', { replicationBackfillId: backfillId });
    await call(ECR, 'StopReplicationBackfill', { replicationBackfillId: backfillId }, 'any');
    await call(ECR, 'CreatePullThroughCacheRule', {
      ecrRepositoryPrefix: 'ecr-public',
      upstreamRegistryUrl: 'public.ecr.aws',
    });
    await call(ECR, 'DescribePullThroughCacheRules', {});
    await call(
      ECR,
      'UpdatePullThroughCacheRule',
      {
        ecrRepositoryPrefix: 'ecr-public',
        customRoleArn: `arn:aws:iam::${account}:role/cache`,
      },
      'any',
    );
    await call(ECR, 'ValidatePullThroughCacheRule', { ecrRepositoryPrefix: 'ecr-public' });
    await call(ECR, 'DeletePullThroughCacheRule', { ecrRepositoryPrefix: 'ecr-public' });
    await call(ECR, 'CreateRepositoryCreationTemplate', { prefix: 'tpl', appliedFor: ['CREATE_ON_PUSH'] });
    await call(ECR, 'DescribeRepositoryCreationTemplates', {});
    await call(ECR, 'UpdateRepositoryCreationTemplate', { prefix: 'tpl', description: 'templated' });
    await call(ECR, 'DeleteRepositoryCreationTemplate', { prefix: 'tpl' });
    await call(ECR, 'PutSigningConfiguration', {
      signingConfiguration: {
        rules: [{ signingProfileArn: `arn:aws:signer:us-east-1:${account}:/signing-profiles/release` }],
      },
    });
    await call(ECR, 'GetSigningConfiguration', {});
    await call(ECR, 'DescribeImageSigningStatus', { repositoryName: repo, imageId: { imageDigest: digest } });
    await call(ECR, 'DeleteSigningConfiguration', {});
    const principalArn = `arn:aws:iam::${account}:role/audit`;
    await call(ECR, 'RegisterPullTimeUpdateExclusion', { principalArn });
    await call(ECR, 'ListPullTimeUpdateExclusions', {});
    await call(ECR, 'DeregisterPullTimeUpdateExclusion', { principalArn });
    await call(ECR, 'UpdateImageStorageClass', {
      repositoryName: repo,
      imageId: { imageDigest: digest },
      targetStorageClass: 'ARCHIVE',
    });
    await call(ECR, 'UpdateImageStorageClass', {
      repositoryName: repo,
      imageId: { imageDigest: digest },
      targetStorageClass: 'STANDARD',
    });
    // Served by other parts of the emulator once they exist.
    if (ECR_OPERATIONS.ListImageReferrers)
      await call(ECR, 'ListImageReferrers', { repositoryName: repo, subjectId: { imageDigest: digest } });
    if (ECR_OPERATIONS.GetAccountSetting) await call(ECR, 'GetAccountSetting', { name: 'BLOB_MOUNTING' });
    if (ECR_OPERATIONS.PutAccountSetting)
      await call(ECR, 'PutAccountSetting', { name: 'BLOB_MOUNTING', value: 'DISABLED' });
    await call(ECR, 'BatchDeleteImage', { repositoryName: repo, imageIds: [{ imageTag: 'v1' }, { imageTag: 'gone' }] });
    await call(ECR, 'DeleteRepository', { repositoryName: repo, force: true });

    expect(problems).toEqual([]);
    // The validator knows the enums it checks (a model read wrongly would check nothing).
    expect(ECR.enums.get('ImageDetail.imageStatus')).toEqual(new Set(['ACTIVATING', 'ACTIVE', 'ARCHIVED']));
    expect(ECR.errors.get('DeletePullThroughCacheRule')).toContain('PullThroughCacheRuleNotFoundException');
    const missing = Object.keys(ECR_OPERATIONS).filter((op) => !called.ecr.has(op));
    expect(missing, 'operations the test does not call').toEqual([]);
  });

  it('answers every ECR Public operation it serves in the shape of the model', async () => {
    problems.length = 0;
    await call(PUBLIC, 'GetAuthorizationToken', {});
    await call(PUBLIC, 'CreateRepository', {
      repositoryName: 'conf/pub',
      catalogData: { description: 'a test', architectures: ['x86-64'], operatingSystems: ['Linux'] },
      tags: [{ Key: 'a', Value: 'b' }],
    });
    const described = await call(PUBLIC, 'DescribeRepositories', {});
    const arn = ((described.repositories as { repositoryArn: string }[])[0] as { repositoryArn: string }).repositoryArn;
    await call(PUBLIC, 'PutRepositoryCatalogData', {
      repositoryName: 'conf/pub',
      catalogData: { aboutText: 'About' },
    });
    await call(PUBLIC, 'GetRepositoryCatalogData', { repositoryName: 'conf/pub' });
    await call(PUBLIC, 'DescribeImages', { repositoryName: 'conf/pub' });
    await call(PUBLIC, 'DescribeImageTags', { repositoryName: 'conf/pub' });
    await call(PUBLIC, 'BatchDeleteImage', { repositoryName: 'conf/pub', imageIds: [{ imageTag: 'gone' }] });
    await call(PUBLIC, 'DescribeRegistries', {});
    await call(PUBLIC, 'PutRegistryCatalogData', { displayName: 'local' });
    await call(PUBLIC, 'GetRegistryCatalogData', {});
    await call(PUBLIC, 'TagResource', { resourceArn: arn, tags: [{ Key: 'env', Value: 'dev' }] });
    await call(PUBLIC, 'ListTagsForResource', { resourceArn: arn });
    await call(PUBLIC, 'UntagResource', { resourceArn: arn, tagKeys: ['env'] });
    await call(PUBLIC, 'DeleteRepository', { repositoryName: 'conf/pub', force: true });
    expect(problems).toEqual([]);
    const missing = Object.keys(PUBLIC_OPERATIONS).filter((op) => !called.public.has(op));
    expect(missing, 'operations the test does not call').toEqual([]);
  });

  it('answers each operation called with nothing, or naming nothing that exists, with an error its model declares', async () => {
    problems.length = 0;
    for (const op of Object.keys(ECR_OPERATIONS)) {
      await call(ECR, op, {}, 'any');
      await call(ECR, op, { repositoryName: 'conf/missing', registryId: '123456789012' }, 'any');
    }
    for (const op of Object.keys(PUBLIC_OPERATIONS)) {
      await call(PUBLIC, op, {}, 'any');
      await call(PUBLIC, op, { repositoryName: 'conf/missing' }, 'any');
    }
    expect(problems).toEqual([]);
  });
});
