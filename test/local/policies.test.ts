// Repository and registry policies as ECR checks them (ECR-FACTS.md): a statement without
// Principal, an unknown ecr: action, or (repository policies) a Resource element is "Invalid
// repository policy provided". The emulator refuses what ECR refuses, and `ecrctl policy
// validate` refuses the same documents before they reach ECR.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateRepositoryCommand,
  type ECRClient,
  GetRegistryPolicyCommand,
  GetRepositoryPolicyCommand,
  PutRegistryPolicyCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { formatPolicyProblem, validateResourcePolicy } from '../../src/policy/iam.js';
import { runCli } from '../helpers/cli.js';
import { ecrClient, start, tempDir } from './helpers.js';

let server: LocalServer;
let ecr: ECRClient;
const tmp = tempDir();

beforeAll(async () => {
  server = await start(tmp.dir);
  ecr = ecrClient(server);
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'guarded' }));
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const pull = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'ecr:BatchGetImage' };

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('repository policies', () => {
  const refused: [string, string, string][] = [
    ['a statement without Principal', doc({ Effect: 'Allow', Action: 'ecr:BatchGetImage' }), 'needs a Principal'],
    ['an unknown ecr: action', doc({ ...pull, Action: ['ecr:BatchGetImage', 'ecr:PullImage'] }), 'ecr:PullImage'],
    ['a pattern that matches no ecr: action', doc({ ...pull, Action: 'ecr:Frobnicate*' }), 'ecr:Frobnicate*'],
    ['a Resource element', doc({ ...pull, Resource: '*' }), 'ECR refuses a Resource element in a repository policy'],
    [
      'a NotResource element',
      doc({ ...pull, NotResource: 'arn:aws:ecr:us-east-1:123456789012:repository/x' }),
      'ECR refuses a NotResource element in a repository policy',
    ],
  ];

  it.each(refused)('the emulator refuses %s as ECR does', async (_what, policyText) => {
    const err = await failure(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'guarded', policyText })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toBe(
      "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
    );
    const stored = await failure(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'guarded' })));
    expect(stored.name).toBe('RepositoryPolicyNotFoundException');
  });

  it.each(refused)('the client validator refuses %s', (_what, policyText, message) => {
    const problems = validateResourcePolicy(policyText, 'repository').problems.map(formatPolicyProblem);
    expect(problems.join('\n')).toContain(message);
  });

  it.each([
    ['one ecr: action', doc(pull)],
    ['a wildcard action', doc({ ...pull, Action: ['ecr:Batch*', 'ecr:*'] })],
    ['"*" as action and principal', doc({ Effect: 'Allow', Principal: '*', Action: '*' })],
  ])('both accept %s', async (_what, policyText) => {
    expect(validateResourcePolicy(policyText, 'repository').problems).toEqual([]);
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'guarded', policyText }));
    const got = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'guarded' }));
    expect(got.policyText).toBe(policyText);
  });

  it('`ecrctl policy validate` refuses a Resource element (exit 3) and names the fix', async () => {
    const file = path.join(tmp.dir, 'with-resource.json');
    writeFileSync(file, doc({ ...pull, Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/guarded' }));
    const r = await runCli(['policy', 'validate', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Statement[0].Resource: ECR refuses a Resource element in a repository policy');
    expect(r.stderr).toContain('remove "Resource"');
  });
});

describe('registry policies', () => {
  const replicate = {
    Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::111122223333:root' },
    Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
    Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/*',
  };

  it.each([
    ['a statement without Principal', doc({ Effect: 'Allow', Action: 'ecr:ReplicateImage', Resource: '*' })],
    ['an unknown ecr: action', doc({ ...replicate, Action: ['ecr:ReplicateImages'] })],
    ['a repository action', doc({ ...replicate, Action: ['ecr:BatchGetImage'] })],
  ])('the emulator refuses %s as ECR does', async (_what, policyText) => {
    const err = await failure(ecr.send(new PutRegistryPolicyCommand({ policyText })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain('Invalid registry policy provided');
    expect(validateResourcePolicy(policyText, 'registry').problems).not.toEqual([]);
  });

  it('both accept a replication policy, whose statements name a Resource', async () => {
    const policyText = doc(replicate);
    expect(validateResourcePolicy(policyText, 'registry').problems).toEqual([]);
    await ecr.send(new PutRegistryPolicyCommand({ policyText }));
    expect((await ecr.send(new GetRegistryPolicyCommand({}))).policyText).toBe(policyText);
  });
});
