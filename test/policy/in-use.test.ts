// In-use evidence parsing and matching (src/policy/in-use.ts): each file kind users already
// have, references by tag resolved to the digest the tag names now (and marked byTag), and
// ECR hosts matched to their own account and region only.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchInUse, parseImageRef, parseInUseEvidence } from '../../src/policy/in-use.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/in-use');
const A = '111111111111.dkr.ecr.us-east-1.amazonaws.com';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('parseImageRef', () => {
  it('splits host, repository, tag and digest, and reads ECR hosts', () => {
    expect(parseImageRef(`${A}/team/app:v1@${D1}`)).toEqual({
      ref: `${A}/team/app:v1@${D1}`,
      registry: A,
      account: '111111111111',
      region: 'us-east-1',
      repository: 'team/app',
      tag: 'v1',
      digest: D1,
    });
    expect(parseImageRef('localhost:5000/app')).toEqual({
      ref: 'localhost:5000/app',
      registry: 'localhost:5000',
      repository: 'app',
    });
    expect(parseImageRef(`docker-pullable://${A}/team/app@${D1}`)?.digest).toBe(D1);
    expect(parseImageRef('team/app:v1')).toEqual({ ref: 'team/app:v1', repository: 'team/app', tag: 'v1' });
    expect(parseImageRef('Not A Ref')).toBeUndefined();
    expect(parseImageRef('team/app@sha256')).toBeUndefined();
  });
});

describe('parseInUseEvidence', () => {
  it('reads ECS describe-task-definition output, one reference per container', () => {
    const e = parseInUseEvidence(readFileSync(path.join(FIXTURES, 'ecs-taskdefs.json'), 'utf8'), 'ecs-taskdefs.json');
    expect(e.kind).toBe('ecs');
    expect(e.refs.map((r) => r.usedBy)).toEqual([
      'ecs task-definition web:12 (container app)',
      'ecs task-definition web:12 (container sidecar)',
      'ecs task-definition web:12 (container log-router)',
    ]);
    expect(e.problems).toEqual([]);
  });

  it('says list-task-definitions output names no images', () => {
    const e = parseInUseEvidence(
      JSON.stringify({ taskDefinitionArns: ['arn:aws:ecs:us-east-1:1:task-definition/a:1'] }),
      'l.json',
    );
    expect(e.refs).toEqual([]);
    expect(e.problems[0]).toContain('list-task-definitions output names 1 task definitions but no images');
  });

  it('reads kubectl pods (containers, init containers) and takes the running digest from status.imageID', () => {
    const e = parseInUseEvidence(readFileSync(path.join(FIXTURES, 'pods.json'), 'utf8'), 'pods.json');
    expect(e.kind).toBe('kubernetes');
    expect(e.refs).toHaveLength(3);
    const web = e.refs[0];
    expect(web?.tag).toBe('v1');
    expect(web?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(e.refs[1]?.ref).toBe('busybox:1.36');
    expect(e.refs[2]?.usedBy).toBe('pod batch/report-28461230-abcde (container migrate)');
  });

  it('reads lambda get-function (resolved digest, written tag) and list-functions (zip functions skipped)', () => {
    const e = parseInUseEvidence(readFileSync(path.join(FIXTURES, 'lambda.json'), 'utf8'), 'lambda.json');
    expect(e.kind).toBe('lambda');
    expect(e.refs).toHaveLength(1);
    expect(e.refs[0]).toMatchObject({ usedBy: 'lambda resize', tag: 'v2', repository: 'team/svc-05' });
    expect(e.refs[0]?.digest).toMatch(/^sha256:/);
    const list = parseInUseEvidence(
      JSON.stringify({
        Functions: [
          { FunctionName: 'zip', PackageType: 'Zip' },
          { FunctionName: 'img', PackageType: 'Image' },
        ],
      }),
      'fns.json',
    );
    expect(list.refs).toEqual([]);
    expect(list.problems).toEqual([
      'fns.json: lambda img is an image function but the file has no image URI; save `aws lambda get-function --function-name img`',
    ]);
  });

  it('reads plain lists with comments, reporting lines that are not references', () => {
    const e = parseInUseEvidence(`# running\n${A}/team/app:v1\n\nteam/api@${D2}  # pinned\nnot a ref\n`, 'refs.txt');
    expect(e.kind).toBe('list');
    expect(e.refs.map((r) => r.repository)).toEqual(['team/app', 'team/api']);
    expect(e.problems).toEqual(['refs.txt:5: "not a ref" is not an image reference']);
  });

  it('refuses JSON of another shape', () => {
    expect(() => parseInUseEvidence('{"foo": 1}', 'x.json')).toThrow(/not a recognised evidence file/);
    expect(() => parseInUseEvidence('{', 'x.json')).toThrow(/x.json is not valid JSON/);
  });
});

describe('matchInUse', () => {
  const images = [
    { account: '111111111111', region: 'us-east-1', repository: 'team/app', digest: D1, tags: ['v1', 'latest'] },
    { account: '111111111111', region: 'eu-west-1', repository: 'team/app', digest: D1, tags: ['v1'] },
    { account: '222222222222', region: 'us-east-1', repository: 'team/app', digest: D2, tags: ['v2'] },
  ];
  const refs = (text: string) => parseInUseEvidence(text, 'refs.txt').refs;

  it('matches an ECR host to its own account and region only; a digest exactly, a tag by where it points now', () => {
    const m = matchInUse(images, refs(`${A}/team/app:v1`));
    expect([...m.keys()]).toEqual([`111111111111/us-east-1/team/app@${D1}`]);
    expect(m.get(`111111111111/us-east-1/team/app@${D1}`)).toEqual([
      { usedBy: 'list refs.txt', ref: `${A}/team/app:v1`, byTag: true },
    ]);
    const byDigest = matchInUse(images, refs(`team/app@${D2}`));
    expect([...byDigest.keys()]).toEqual([`222222222222/us-east-1/team/app@${D2}`]);
    expect(byDigest.get(`222222222222/us-east-1/team/app@${D2}`)?.[0]?.byTag).toBe(false);
  });

  it('reads no tag as latest, matches host-less references anywhere, and ignores other registries', () => {
    expect([...matchInUse(images, refs('team/app')).keys()]).toEqual([`111111111111/us-east-1/team/app@${D1}`]);
    expect(matchInUse(images, refs('team/app:v1')).size).toBe(2);
    expect(matchInUse(images, refs('docker.io/team/app:v1')).size).toBe(0);
    expect(matchInUse(images, refs('127.0.0.1:5000/team/app:v2')).size).toBe(1);
  });
});
