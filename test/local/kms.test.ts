// Issue 19 #13: KMS and Secrets Manager references are checked for form (ARN shape,
// partition, region) as ECR checks them before it calls those services, and
// ValidatePullThroughCacheRule says what an offline endpoint cannot check instead of "valid".
import {
  CreatePullThroughCacheRuleCommand,
  CreateRepositoryCommand,
  type ECRClient,
  ValidatePullThroughCacheRuleCommand,
} from '@aws-sdk/client-ecr';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { ecrClient, start, tempDir } from './helpers.js';

let server: LocalServer;
let tmp: { dir: string; remove: () => void };
let ecr: ECRClient;

beforeAll(async () => {
  tmp = tempDir('ecrctl-kms-');
  server = await start(path.join(tmp.dir, 'data'));
  ecr = ecrClient(server, 'eu-west-1');
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

const create = (repositoryName: string, kmsKey?: string) =>
  ecr.send(
    new CreateRepositoryCommand({
      repositoryName,
      encryptionConfiguration: { encryptionType: 'KMS', ...(kmsKey ? { kmsKey } : {}) },
    }),
  );

describe('KMS key references', () => {
  it('accepts a key id, an alias and key or alias ARNs of the repository region', async () => {
    for (const [i, key] of [
      '1234abcd-12ab-34cd-56ef-1234567890ab',
      'mrk-1234abcd12ab34cd56ef1234567890ab',
      'alias/ecr-images',
      'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws:kms:eu-west-1:111122223333:alias/ecr-images',
    ].entries()) {
      const out = await create(`kms/ok-${i}`, key);
      expect(out.repository?.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: key });
    }
  });

  it("names the AWS managed key of the registry's own account and region when none is given", async () => {
    const out = await create('kms/default');
    expect(out.repository?.encryptionConfiguration?.kmsKey).toBe('arn:aws:kms:eu-west-1:123456789012:alias/aws/ecr');
  });

  it('refuses a key of another region or partition, and what is not a key reference', async () => {
    await expect(create('kms/region', 'arn:aws:kms:us-east-1:111122223333:key/abcd')).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining(
        'is in region us-east-1: a repository in eu-west-1 can only use a key of its own region',
      ),
    });
    await expect(create('kms/partition', 'arn:aws-cn:kms:eu-west-1:111122223333:key/abcd')).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining('is in partition aws-cn'),
    });
    await expect(create('kms/s3', 'arn:aws:s3:::bucket')).rejects.toMatchObject({
      message: expect.stringContaining('is not a KMS key ARN'),
    });
    await expect(create('kms/name', 'my key')).rejects.toMatchObject({
      message: expect.stringContaining('is not a KMS key id, alias (alias/NAME) or ARN'),
    });
  });
});

describe('Secrets Manager references of pull-through cache rules', () => {
  const secret = (region: string) =>
    `arn:aws:secretsmanager:${region}:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf`;

  it('refuses a secret of another region', async () => {
    await expect(
      ecr.send(
        new CreatePullThroughCacheRuleCommand({
          ecrRepositoryPrefix: 'hub',
          upstreamRegistryUrl: 'registry-1.docker.io',
          credentialArn: secret('us-east-1'),
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining('a rule in eu-west-1 can only use a secret of its own region'),
    });
  });

  it('validates a rule by saying what it could not check offline, not "valid"', async () => {
    await ecr.send(
      new CreatePullThroughCacheRuleCommand({
        ecrRepositoryPrefix: 'hub',
        upstreamRegistryUrl: 'registry-1.docker.io',
        credentialArn: secret('eu-west-1'),
      }),
    );
    const out = await ecr.send(new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'hub' }));
    expect(out.isValid).toBe(false);
    expect(out.failure).toBe(
      `not checked: ecrctl local is offline (it cannot reach registry-1.docker.io or read the secret ${secret('eu-west-1')}); the rule's prefix, upstream URL and ARNs have the form ECR requires`,
    );
  });
});
