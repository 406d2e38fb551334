// The pure IAM module: the action list matches the installed SDK exactly, the policy
// validator reports every problem with its position, templates pass the validator, and the
// identity policies and data-plane mapping say what the ECR user guide says.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actionsForCall,
  actionsMatching,
  ECR_ACTIONS,
  ECR_API_ACTIONS,
  formatPolicyProblem,
  groupForAction,
  identityPolicy,
  POLICY_TEMPLATES,
  validateResourcePolicy,
} from '../../src/policy/iam.js';

const commandsDir = path.resolve(import.meta.dirname, '../../node_modules/@aws-sdk/client-ecr/dist-types/commands');

const doc = (statement: unknown) => JSON.stringify({ Version: '2012-10-17', Statement: statement }, null, 2);
const problemsOf = (text: string, scope: 'repository' | 'registry' = 'repository') =>
  validateResourcePolicy(text, scope).problems.map(formatPolicyProblem);

describe('ECR_API_ACTIONS', () => {
  it('is exactly the command names of the installed @aws-sdk/client-ecr', () => {
    const fromSdk = readdirSync(commandsDir)
      .filter((f) => f.endsWith('Command.d.ts'))
      .map((f) => `ecr:${f.slice(0, -'Command.d.ts'.length)}`)
      .sort();
    expect([...ECR_API_ACTIONS].sort()).toEqual(fromSdk);
  });

  it('matches wildcards case-insensitively, as IAM does', () => {
    expect(actionsMatching('ecr:batch*')).toEqual([
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchDeleteImage',
      'ecr:BatchGetImage',
      'ecr:BatchGetRepositoryScanningConfiguration',
      'ecr:BatchImportUpstreamImage',
    ]);
    expect(actionsMatching('ecr:*')).toHaveLength(ECR_ACTIONS.length);
    expect(actionsMatching('ecr:Nothing*')).toEqual([]);
  });
});

describe('validateResourcePolicy', () => {
  const pull = {
    Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::111122223333:root' },
    Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  };

  it('accepts a valid repository policy and returns the document', () => {
    const text = doc([pull]);
    expect(validateResourcePolicy(text, 'repository')).toEqual({ policy: JSON.parse(text), problems: [] });
  });

  it('names line and column of a syntax error', () => {
    const text = '{\n  "Version": "2012-10-17",\n  "Statement": [],\n}\n';
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(/^line 4, column 1: policy text: JSON syntax error: .*trailing comma/),
    ]);
  });

  it('reports every problem at once, each at its position', () => {
    const text = doc([
      {
        Effect: 'Permit',
        Principal: { AWS: 'bob' },
        Action: ['ecr:PullImage', 's3:GetObject'],
        Resource: 'arn:aws:s3:::bucket',
      },
      { Sid: 'x-y', Effect: 'Allow', Action: 'ecr:BatchGetImage', Principal: { Service: 'lambda' }, Colour: 'red' },
    ]);
    const problems = problemsOf(text);
    expect(problems).toEqual([
      'line 5, column 17: Statement[0].Effect: Effect must be "Allow" or "Deny"',
      'line 7, column 16: Statement[0].Principal.AWS: "bob" is not an AWS principal (fix: use a 12-digit account id, arn:aws:iam::ACCOUNT:root, or a role / user ARN)',
      'line 10, column 9: Statement[0].Action[0]: "ecr:PullImage" is not an ECR action (fix: did you mean ecr:PutImage?)',
      'line 11, column 9: Statement[0].Action[1]: "s3:GetObject" is not an ECR action (an ECR repository policy only governs ecr:* actions) (fix: name ecr: actions only)',
      // ECR refuses a repository policy that has a Resource element at all ("Invalid
      // repository policy provided"), whatever it names.
      'line 13, column 7: Statement[0].Resource: ECR refuses a Resource element in a repository policy (the policy applies to its own repository) (fix: remove "Resource"; to cover other repositories, set a policy on each of them)',
      'line 22, column 7: Statement[1].Colour: unknown statement field "Colour" (fix: use one of Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition)',
      'line 16, column 14: Statement[1].Sid: Sid may hold only letters and digits (fix: e.g. "Sid": "AllowPull")',
      'line 20, column 20: Statement[1].Principal.Service: "lambda" is not a service principal (fix: e.g. lambda.amazonaws.com or codebuild.amazonaws.com)',
    ]);
  });

  it('refuses a policy over 10,240 characters and one without Statement or Principal', () => {
    const long = JSON.stringify({ Version: '2012-10-17', Statement: [{ ...pull, Sid: 'A'.repeat(10_300) }] });
    expect(problemsOf(long)).toEqual([
      expect.stringContaining(`the policy is ${long.length} characters; ECR allows at most 10240`),
    ]);
    expect(problemsOf('{"Version":"2012-10-17"}')).toEqual([expect.stringContaining('the policy has no Statement')]);
    expect(problemsOf(doc([{ Effect: 'Allow', Action: 'ecr:*' }]))).toEqual([
      expect.stringContaining('Statement[0].Principal: a repository or registry policy statement needs a Principal'),
    ]);
  });

  it('allows only the registry-level actions, with a Resource, in a registry policy', () => {
    const ok = doc([
      {
        Effect: 'Allow',
        Principal: { AWS: '111122223333' },
        Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
        Resource: 'arn:aws:ecr:us-east-1:444455556666:repository/*',
      },
    ]);
    expect(problemsOf(ok, 'registry')).toEqual([]);
    const bad = doc([{ Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: ['ecr:BatchGetImage'] }]);
    expect(problemsOf(bad, 'registry')).toEqual([
      expect.stringContaining('ECR refuses "ecr:BatchGetImage" in a registry policy'),
      expect.stringContaining('a registry policy statement needs a Resource'),
    ]);
  });

  it('never throws, whatever the text (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const r = validateResourcePolicy(text, 'repository');
        expect(r.problems.length > 0 || r.policy !== undefined).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('policy templates', () => {
  it.each(POLICY_TEMPLATES.map((t) => [t.name, t] as const))('%s passes the validator for its scope', (_name, t) => {
    const text = JSON.stringify(
      t.build({
        accounts: ['111122223333', '444455556666'],
        roles: ['arn:aws:iam::111122223333:role/ci'],
        region: 'eu-west-1',
        registryAccount: '444455556666',
      }),
      null,
      2,
    );
    expect(problemsOf(text, t.scope)).toEqual([]);
  });

  it('lambda-pull limits the service principal to the named accounts by aws:sourceArn', () => {
    const t = POLICY_TEMPLATES.find((x) => x.name === 'lambda-pull');
    expect(t?.build({ accounts: ['111122223333'], roles: [], region: 'eu-west-1' })).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'LambdaECRImageRetrievalPolicy',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          Condition: { StringLike: { 'aws:sourceArn': 'arn:aws:lambda:eu-west-1:111122223333:function:*' } },
        },
      ],
    });
  });
});

describe('identity policies', () => {
  it('grants GetAuthorizationToken on * and the group actions on the repository ARNs', () => {
    expect(
      identityPolicy({ groups: ['pull'], repos: ['team/app', 'team/*'], region: 'eu-west-1', account: '123456789012' }),
    ).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'EcrctlLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        {
          Sid: 'EcrctlPull',
          Effect: 'Allow',
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:ListImageReferrers', 'ecr:ListImages'],
          Resource: [
            'arn:aws:ecr:eu-west-1:123456789012:repository/team/app',
            'arn:aws:ecr:eu-west-1:123456789012:repository/team/*',
          ],
        },
      ],
    });
    const both = identityPolicy({ groups: ['pull', 'push'], createRepo: true });
    expect(both.Statement[1]?.Resource).toBe('arn:aws:ecr:*:*:repository/*');
    expect(both.Statement[1]?.Action).toContain('ecr:CreateRepository');
    expect(both.Statement[1]?.Action).toContain('ecr:ListImages');
  });

  it('every action it grants is a real ECR action', () => {
    for (const g of ['pull', 'push', 'admin', 'sync', 'registry'] as const) {
      for (const a of identityPolicy({ groups: [g], createRepo: g === 'push' }).Statement.flatMap((s) => s.Action)) {
        expect(ECR_ACTIONS).toContain(a);
      }
    }
  });

  it.each([
    ['registry:HEAD blobs', ['ecr:BatchCheckLayerAvailability']],
    ['registry:GET blobs', ['ecr:GetDownloadUrlForLayer']],
    ['registry:GET manifests', ['ecr:BatchGetImage']],
    ['registry:HEAD manifests', ['ecr:BatchGetImage']],
    ['registry:POST uploads', ['ecr:InitiateLayerUpload']],
    ['registry:PATCH uploads', ['ecr:UploadLayerPart']],
    ['registry:PUT uploads', ['ecr:UploadLayerPart', 'ecr:CompleteLayerUpload']],
    ['registry:PUT manifests', ['ecr:PutImage']],
    ['registry:GET tags', ['ecr:ListImages']],
    ['ecr:DescribeImages', ['ecr:DescribeImages']],
  ])('maps %s to %j', (call, actions) => {
    expect(actionsForCall(call)).toEqual(actions);
  });

  it('names the smallest group that grants an action', () => {
    expect(groupForAction('ecr:GetAuthorizationToken')).toBe('pull');
    expect(groupForAction('ecr:BatchGetImage')).toBe('pull');
    expect(groupForAction('ecr:PutImage')).toBe('push');
    expect(groupForAction('ecr:DeleteRepository')).toBe('admin');
    expect(groupForAction('ecr:ListImageReferrers')).toBe('pull');
    expect(groupForAction('ecr:PutAccountSetting')).toBe('registry');
    expect(groupForAction('ecr:StartImageScan')).toBeUndefined();
  });
});
