// tag-push with tag strategies, tag rules from .ecrctl.yaml, immutable idempotency,
// --create-repo, --dry-run and the GitHub Actions outputs, against `ecrctl local`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeRepositoriesCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, type FixtureImage, writeOciLayout } from '../helpers/fixtures.js';
import { layerTar, makeImage, type TestImage, tagged, writeRawLayout } from '../helpers/layout-fixtures.js';
import { start } from '../local/helpers.js';
import { dpkgStatus, writeAdvisories } from '../local/scanning-fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let imageA: FixtureImage;
let imageB: FixtureImage;
let srcA: string;
let srcB: string;
/** A directory with no git repository and no .ecrctl.yaml above it that matters. */
let plain: string;

const SHA = 'abc1234def5678901234567890abcdef12345678';

beforeAll(async () => {
  env = await startRepoEnv();
  imageA = buildImage(101, { layers: 2, layerSize: 2000 });
  imageB = buildImage(102, { layers: 2, layerSize: 2000 });
  srcA = path.join(env.dir, 'srcA');
  srcB = path.join(env.dir, 'srcB');
  writeOciLayout(srcA, [{ image: imageA, tag: 'latest' }]);
  writeOciLayout(srcB, [{ image: imageB, tag: 'latest' }]);
  plain = path.join(env.dir, 'plain');
  mkdirSync(plain);
});
afterAll(async () => {
  await env?.close();
});

/** Returns the calls the server saw from index `from` on that write something. */
function writesSince(from: number): string[] {
  return env.server.calls
    .slice(from)
    .filter((c) =>
      /^registry:(PUT|POST|PATCH)|^ecr:(PutImage|CompleteLayerUpload|InitiateLayerUpload|UploadLayerPart|CreateRepository)$/.test(
        c,
      ),
    );
}

async function tagsOf(repo: string): Promise<Record<string, string>> {
  const out = await env.ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
  const map: Record<string, string> = {};
  for (const d of out.imageDetails ?? []) for (const t of d.imageTags ?? []) map[t] = d.imageDigest ?? '';
  return map;
}

const github = (extra: Record<string, string> = {}) => ({
  GITHUB_ACTIONS: 'true',
  GITHUB_SHA: SHA,
  GITHUB_REF_NAME: 'feature/Foo_bar',
  GITHUB_REF_TYPE: 'branch',
  ...extra,
});

describe('tag strategies', () => {
  it('derives branch-sha and sha from GitHub variables; writes GITHUB_OUTPUT, the step summary and a log group', async () => {
    expect((await env.cli(['create-repo', 'strat/app'])).code).toBe(0);
    const outputs = path.join(env.dir, 'gh-output');
    const summary = path.join(env.dir, 'gh-summary');
    const r = await env.cli(
      ['tag-push', `oci:${srcA}`, 'strat/app', '--tag-strategy', 'branch-sha', '-s', 'sha', '-s', 'env:staging'],
      {
        cwd: plain,
        env: github({ GITHUB_OUTPUT: outputs, GITHUB_STEP_SUMMARY: summary }),
      },
    );
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(await tagsOf('strat/app')).toEqual({
      'feature-foo_bar-abc1234': imageA.manifest.digest,
      abc1234: imageA.manifest.digest,
      staging: imageA.manifest.digest,
    });
    const repoUri = (await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['strat/app'] })))
      .repositories?.[0]?.repositoryUri;
    expect(readFileSync(outputs, 'utf8')).toBe(
      `image-uri=${repoUri}@${imageA.manifest.digest}\nimage-digest=${imageA.manifest.digest}\nimage-tags=feature-foo_bar-abc1234,abc1234,staging\n`,
    );
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('| Image | Digest | Tags | Transfer |');
    expect(md).toContain(
      `| \`${repoUri}@${imageA.manifest.digest}\` | \`${imageA.manifest.digest}\` | \`feature-foo_bar-abc1234\`, \`abc1234\`, \`staging\` | 3 of 3 blobs uploaded`,
    );
    expect(md.match(/^\|/gm)).toHaveLength(3); // one table: header, separator, one row
    expect(r.stderr).toMatch(/^::group::ecrctl: pushing oci:.* to .*strat\/app\n/m);
    expect(r.stderr).toContain('::endgroup::');
    expect(r.stdout).not.toContain('::group::');
  });

  it('derives semver with aliases from CodeBuild variables', async () => {
    expect((await env.cli(['create-repo', 'strat/rel'])).code).toBe(0);
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'strat/rel', '-s', 'semver', '--semver-aliases', '-o', 'env'], {
      cwd: plain,
      env: {
        CODEBUILD_BUILD_ID: 'rel:1',
        CODEBUILD_RESOLVED_SOURCE_VERSION: SHA,
        CODEBUILD_WEBHOOK_HEAD_REF: 'refs/tags/v1.2.3',
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^IMAGE_URI=.*\/strat\/rel@sha256:[0-9a-f]{64}\nIMAGE_DIGEST=sha256:[0-9a-f]{64}\nIMAGE_TAGS=v1\.2\.3,v1\.2,v1\n$/,
    );
    expect(Object.keys(await tagsOf('strat/rel')).sort()).toEqual(['v1', 'v1.2', 'v1.2.3']);
  });

  it('falls back to git in the working directory', async () => {
    const repo = path.join(env.dir, 'gitrepo');
    mkdirSync(repo);
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, ...args], {
        encoding: 'utf8',
        env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' },
      }).trim();
    git('init', '-q', '-b', 'feature/Foo_bar');
    git('-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'x');
    git('tag', 'v0.3.0');
    const head = git('rev-parse', 'HEAD');
    expect((await env.cli(['create-repo', 'strat/git'])).code).toBe(0);
    const r = await env.cli(
      ['tag-push', `oci:${srcA}`, 'strat/git', '-s', 'branch-sha', '-s', 'semver', '--dry-run', '-o', 'json'],
      { cwd: repo },
    );
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.tags).toEqual([
      {
        tag: `feature-foo_bar-${head.slice(0, 7)}`,
        from: 'branch-sha (git symbolic-ref HEAD, git rev-parse HEAD)',
        action: 'new',
      },
      { tag: 'v0.3.0', from: 'semver (git tag --points-at HEAD)', action: 'new' },
    ]);
  });

  it('says which variable or git fact is missing, exit 2', async () => {
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'strat/app', '-s', 'semver'], { cwd: plain, env: github() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: the tag strategy semver needs a version tag (v1.2.3), and none was found');
    expect(r.stderr).toMatch(
      /rule: +a version tag \(v1\.2\.3\) comes from .*GITHUB_REF_NAME with GITHUB_REF_TYPE=tag, else from git in the working directory \(git: .*is not a git repository\)/,
    );
  });
});

describe('--dry-run', () => {
  it('prints the tags and the rules checked, and writes nothing', async () => {
    expect((await env.cli(['create-repo', 'dry/app'])).code).toBe(0);
    const before = env.server.calls.length;
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'dry/app:v9', '-s', 'sha', '--dry-run'], {
      cwd: plain,
      env: { GITHUB_SHA: SHA },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^would push ${imageA.manifest.digest} to 127\\.0\\.0\\.1:\\d+/dry/app\\n`));
    expect(r.stdout).toContain(
      'TAG      FROM              NOW\nv9       given             new\nabc1234  sha (GITHUB_SHA)  new\n',
    );
    expect(r.stdout).toContain('rules checked (no .ecrctl.yaml; tag mutability MUTABLE):\n  ok       oci-tag: ');
    expect(r.stdout).toMatch(/nothing pushed \(--dry-run\)\n$/);
    expect(writesSince(before)).toEqual([]);
    expect(await tagsOf('dry/app')).toEqual({});
  });
});

describe('immutable tags', () => {
  it('passes a re-run as unchanged, and refuses another image under the tag before any blob moves', async () => {
    expect((await env.cli(['create-repo', 'imm/app', '--immutable'])).code).toBe(0);
    const first = await env.cli(['tag-push', `oci:${srcA}`, 'imm/app:v1'], { cwd: plain });
    expect(first.code).toBe(0);

    let mark = env.server.calls.length;
    const again = await env.cli(['tag-push', `oci:${srcA}`, 'imm/app:v1', '-o', 'json'], { cwd: plain });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).unchangedTags).toEqual(['v1']);
    expect(writesSince(mark)).toEqual([]);

    mark = env.server.calls.length;
    const other = await env.cli(['tag-push', `oci:${srcB}`, 'imm/app:v1'], { cwd: plain });
    expect(other.code).toBe(3);
    expect(other.stderr).toContain(
      "error: tag 'v1' already exists in imm/app at another image, and tags there are immutable (IMMUTABLE); nothing was pushed",
    );
    expect(other.stderr).toContain(
      `  - tag 'v1': points at ${imageA.manifest.digest}; this push is ${imageB.manifest.digest}`,
    );
    expect(other.stderr).toMatch(/fix: +push under a new tag .*ecrctl promote/);
    // Nothing was uploaded: not one blob upload, manifest or API write.
    expect(writesSince(mark)).toEqual([]);
    expect(env.server.calls.slice(mark)).not.toContain('registry:POST uploads');
    expect(await tagsOf('imm/app')).toEqual({ v1: imageA.manifest.digest });
  });

  it('lets excluded tags move in IMMUTABLE_WITH_EXCLUSION', async () => {
    expect(
      (
        await env.cli([
          'create-repo',
          'imm/ex',
          '--tag-mutability',
          'IMMUTABLE_WITH_EXCLUSION',
          '--mutability-exclusion',
          'dev-*',
        ])
      ).code,
    ).toBe(0);
    expect((await env.cli(['tag-push', `oci:${srcA}`, 'imm/ex:dev-1'], { cwd: plain })).code).toBe(0);
    const r = await env.cli(['tag-push', `oci:${srcB}`, 'imm/ex:dev-1'], { cwd: plain });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`tag dev-1 moves from ${imageA.manifest.digest} to ${imageB.manifest.digest}`);
    expect(await tagsOf('imm/ex')).toEqual({ 'dev-1': imageB.manifest.digest });
  });
});

describe('tag rules from .ecrctl.yaml', () => {
  let proj: string;
  beforeAll(() => {
    proj = path.join(env.dir, 'proj');
    mkdirSync(path.join(proj, 'sub'), { recursive: true });
    writeFileSync(
      path.join(proj, '.ecrctl.yaml'),
      [
        'naming:',
        '  houseRulesAsErrors: true',
        'repositories:',
        '  - pattern: rules/prod-*',
        '    forbid: [latest]',
        '    requireImmutable: true',
        '    strategies: [sha]',
        '    create:',
        '      scanOnPush: true',
        '  - pattern: rules/*',
        '    allowedTags: ["main-[0-9a-f]{7}", "v[0-9]+"]',
        '',
      ].join('\n'),
    );
  });

  it('refuses a forbidden tag with the rule and its line, exit 3, nothing pushed', async () => {
    expect((await env.cli(['create-repo', 'rules/prod-api', '--immutable'])).code).toBe(0);
    const mark = env.server.calls.length;
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'rules/prod-api:latest'], {
      cwd: path.join(proj, 'sub'),
      env: github(),
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: the tag rule forbid is broken; nothing was pushed');
    expect(r.stderr).toContain(
      `  - forbid: tag 'latest' is forbidden by forbid: latest (${path.join(proj, '.ecrctl.yaml')}:5)`,
    );
    expect(writesSince(mark)).toEqual([]);
  });

  it('uses the default strategies of the pattern and checks requireImmutable', async () => {
    const ok = await env.cli(['tag-push', `oci:${srcA}`, 'rules/prod-api', '-o', 'env'], { cwd: proj, env: github() });
    expect(ok.stderr).not.toContain('error');
    expect(ok.stdout).toContain('IMAGE_TAGS=abc1234\n');
    expect((await env.cli(['create-repo', 'rules/prod-web'])).code).toBe(0);
    const mutable = await env.cli(['tag-push', `oci:${srcA}`, 'rules/prod-web'], { cwd: proj, env: github() });
    expect(mutable.code).toBe(3);
    expect(mutable.stderr).toContain(
      "requireImmutable: rules/prod-web has tag mutability MUTABLE, so 'abc1234' could be moved later; requireImmutable: true (.ecrctl.yaml:6)",
    );
  });

  it('refuses tags outside allowedTags', async () => {
    expect((await env.cli(['create-repo', 'rules/app'])).code).toBe(0);
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'rules/app:dev', '-t', 'v2'], { cwd: proj });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      "allowedTags: 'dev' match none of the allowed tag patterns main-[0-9a-f]{7}, v[0-9]+ (.ecrctl.yaml:11)",
    );
  });

  it('warns about latest in a production repository by default', async () => {
    expect((await env.cli(['create-repo', 'other/prod'])).code).toBe(0);
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'other/prod:latest'], { cwd: plain });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "warning: production-latest: pushing 'latest' to a production repository (the name 'other/prod' says production)",
    );
    expect(r.stderr).toContain('warning: production-immutable: other/prod is a production repository');
  });

  it('names file and line of a bad key, exit 3', async () => {
    const bad = path.join(env.dir, 'bad.yaml');
    writeFileSync(bad, 'repositories:\n  - pattern: x\n    requireImmutible: true\n');
    const r = await env.cli(['--config', bad, 'tag-push', `oci:${srcA}`, 'rules/app:v1'], { cwd: plain });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`error: the config file ${bad} is not valid; nothing was done`);
    expect(r.stderr).toContain(
      `  - ${bad}:3: unknown key 'repositories[0].requireImmutible' (did you mean 'repositories[0].requireImmutable'?)`,
    );
  });
});

describe('--create-repo', () => {
  it('creates a missing repository with the config defaults, then pushes', async () => {
    const proj = path.join(env.dir, 'proj');
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'rules/prod-new', '--create-repo'], {
      cwd: proj,
      env: github(),
    });
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('created repository rules/prod-new (IMMUTABLE)');
    const repo = (await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['rules/prod-new'] })))
      .repositories?.[0];
    expect(repo?.imageTagMutability).toBe('IMMUTABLE');
    expect(repo?.imageScanningConfiguration?.scanOnPush).toBe(true);
    expect(await tagsOf('rules/prod-new')).toEqual({ abc1234: imageA.manifest.digest });
  });

  it('checks the name first: a house rule as error creates nothing', async () => {
    const proj = path.join(env.dir, 'proj');
    const mark = env.server.calls.length;
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'rules/prod_x:v1', '--create-repo'], { cwd: proj });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'error: the repository name rules/prod_x breaks a house rule; nothing was created or pushed',
    );
    expect(r.stderr).toContain('houseRulesAsErrors: true, .ecrctl.yaml:2');
    expect(writesSince(mark)).toEqual([]);
  });

  it('makes create-repo treat house rules as errors when the config says so', async () => {
    const proj = path.join(env.dir, 'proj');
    const r = await env.cli(['create-repo', 'rules/my_app'], { cwd: proj });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('house rule: repository names use lowercase letters, digits and hyphens only');
    const outside = await env.cli(['create-repo', 'rules/my_app2'], { cwd: plain });
    expect(outside.code).toBe(0);
    expect(outside.stderr).toContain('warning:');
  });

  it('without --create-repo a missing repository exits 6 before anything moves', async () => {
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'nope/missing:v1'], { cwd: plain });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('error: repository nope/missing does not exist');
    expect(r.stderr).toContain('add --create-repo');
  });
});

describe('--no-tag-strategy', () => {
  it("turns the config's default strategies off for one push: only the given tag", async () => {
    const proj = path.join(env.dir, 'proj');
    expect((await env.cli(['create-repo', 'rules/prod-nostrat', '--immutable'])).code).toBe(0);
    const r = await env.cli(
      ['tag-push', `oci:${srcA}`, 'rules/prod-nostrat:hotfix-1', '--no-tag-strategy', '-o', 'env'],
      {
        cwd: proj,
        env: github(),
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('IMAGE_TAGS=hotfix-1\n');
    expect(await tagsOf('rules/prod-nostrat')).toEqual({ 'hotfix-1': imageA.manifest.digest });
    // Without it the pattern's strategy (sha) adds its tag.
    const dry = await env.cli(['tag-push', `oci:${srcA}`, 'rules/prod-nostrat:hotfix-1', '--dry-run', '-o', 'json'], {
      cwd: proj,
      env: github(),
    });
    expect(JSON.parse(dry.stdout).tags.map((t: { tag: string }) => t.tag)).toEqual(['hotfix-1', 'abc1234']);
  });

  it('a later --tag-strategy wins over --no-tag-strategy; --tag-strategy none is the same as the flag', async () => {
    const proj = path.join(env.dir, 'proj');
    const later = await env.cli(
      [
        'tag-push',
        `oci:${srcA}`,
        'rules/prod-nostrat:v1',
        '--no-tag-strategy',
        '-s',
        'env:staging',
        '--dry-run',
        '-o',
        'json',
      ],
      { cwd: proj, env: github() },
    );
    expect(later.code, later.stderr).toBe(0);
    expect(JSON.parse(later.stdout).tags.map((t: { tag: string }) => t.tag)).toEqual(['v1', 'staging']);
    const none = await env.cli(
      ['tag-push', `oci:${srcA}`, 'rules/prod-nostrat:v1', '-s', 'none', '--dry-run', '-o', 'json'],
      { cwd: proj, env: github() },
    );
    expect(JSON.parse(none.stdout).tags.map((t: { tag: string }) => t.tag)).toEqual(['v1']);
    const mixed = await env.cli(['tag-push', `oci:${srcA}`, 'rules/prod-nostrat:v1', '-s', 'none', '-s', 'sha'], {
      cwd: proj,
      env: github(),
    });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('error: the tag strategy none turns strategies off, so it cannot come with sha');
  });
});

describe('GitHub pull request events', () => {
  const HEAD = '0123456789abcdef0123456789abcdef01234567';
  const MERGE = 'fedcba9876543210fedcba9876543210fedcba98';
  const prEnv = (name: string, payload: unknown) => {
    const file = path.join(env.dir, `event-${name}.json`);
    writeFileSync(file, JSON.stringify(payload));
    return {
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: name,
      GITHUB_EVENT_PATH: file,
      GITHUB_SHA: MERGE,
      GITHUB_REF: 'refs/pull/42/merge',
      GITHUB_REF_NAME: '42/merge',
      GITHUB_REF_TYPE: 'branch',
      GITHUB_HEAD_REF: 'feature/Login',
    };
  };
  const payload = { number: 42, pull_request: { head: { sha: HEAD, ref: 'feature/Login' }, merge_commit_sha: MERGE } };

  it('branch-sha and sha use pull_request.head.sha and the head branch, not the merge commit', async () => {
    expect((await env.cli(['create-repo', 'pr/app'])).code).toBe(0);
    const r = await env.cli(
      ['tag-push', `oci:${srcA}`, 'pr/app', '-s', 'branch-sha', '-s', 'sha', '--dry-run', '-o', 'json'],
      {
        cwd: plain,
        env: prEnv('pull_request', payload),
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tags).toEqual([
      {
        tag: 'feature-login-0123456',
        from: 'branch-sha (GITHUB_HEAD_REF, pull_request.head.sha (GITHUB_EVENT_PATH))',
        action: 'new',
      },
      { tag: '0123456', from: 'sha (pull_request.head.sha (GITHUB_EVENT_PATH))', action: 'new' },
    ]);
    const pushed = await env.cli(['tag-push', `oci:${srcA}`, 'pr/app', '-s', 'branch-sha', '-o', 'env'], {
      cwd: plain,
      env: prEnv('pull_request_target', payload),
    });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain('IMAGE_TAGS=feature-login-0123456\n');
    expect(await tagsOf('pr/app')).toEqual({ 'feature-login-0123456': imageA.manifest.digest });
  });

  it('without a readable event payload falls back to GITHUB_SHA and says it is the merge commit', async () => {
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'pr/app', '-s', 'branch-sha', '--dry-run', '-o', 'json'], {
      cwd: plain,
      env: { ...prEnv('pull_request', payload), GITHUB_EVENT_PATH: path.join(env.dir, 'no-such-event.json') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: cannot read the pull_request event payload .*no-such-event\.json .*: tags use GITHUB_SHA, the merge commit/,
    );
    expect(JSON.parse(r.stdout).tags[0].tag).toBe('feature-login-fedcba9');
  });

  it('a push event keeps GITHUB_SHA', async () => {
    const r = await env.cli(['tag-push', `oci:${srcA}`, 'pr/app', '-s', 'sha', '--dry-run', '-o', 'json'], {
      cwd: plain,
      env: { ...prEnv('push', payload), GITHUB_SHA: SHA },
    });
    expect(JSON.parse(r.stdout).tags[0]).toMatchObject({ tag: 'abc1234', from: 'sha (GITHUB_SHA)' });
  });
});

describe('--fail-on implies --scan', () => {
  let server: LocalServer;
  let debianLayout: string;
  let debian: TestImage;
  const cli = (args: readonly string[]) =>
    runCli(['--endpoint-url', server.url, ...args], {
      cwd: plain,
      env: {
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        HOME: path.join(env.dir, 'scan-home'),
      },
    });
  beforeAll(async () => {
    // An emulator with one advisory, whose scans finish at once (this file's other tests keep
    // ECR-like durations), and a Debian image with the affected package.
    const advisories = path.join(env.dir, 'advisories.json');
    writeAdvisories(advisories, [
      { id: 'CVE-2024-0002', package: 'bash', ecosystem: 'deb', severity: 'CRITICAL', description: 'bash' },
    ]);
    server = await start(path.join(env.dir, 'scan-data'), { advisoriesFile: advisories, stateDelayScale: 0 });
    debian = makeImage(
      [layerTar({ 'etc/os-release': 'ID=debian\n', 'var/lib/dpkg/status': dpkgStatus([['bash', '5.2.15-2']]) })],
      'fail-on',
      { gzip: true },
    );
    debianLayout = path.join(env.dir, 'debian-layout');
    writeRawLayout(
      debianLayout,
      { ...Object.fromEntries(debian.blobs), [debian.manifest.digest]: debian.manifest.bytes },
      { schemaVersion: 2, manifests: [tagged(debian.manifest, 'v1')] },
    );
    expect((await cli(['create-repo', 'scanned/app'])).code).toBe(0);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('pushes, then scans and exits 4 over the threshold; stdout stays the push result', async () => {
    const mark = server.calls.length;
    const r = await cli([
      'tag-push',
      `oci:${debianLayout}:v1`,
      'scanned/app:v1',
      '--fail-on',
      'CRITICAL',
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'pushed', digest: debian.manifest.digest, tags: ['v1'] });
    expect(r.stderr).toContain('CVE-2024-0002 CRITICAL bash 5.2.15-2');
    const calls = server.calls.slice(mark);
    expect(calls.indexOf('ecr:StartImageScan')).toBeGreaterThan(calls.indexOf('registry:PUT manifests'));
    // Without --fail-on (nor --scan) nothing is scanned.
    const again = server.calls.length;
    expect((await cli(['tag-push', `oci:${debianLayout}:v1`, 'scanned/app:v2'])).code).toBe(0);
    expect(server.calls.slice(again)).not.toContain('ecr:StartImageScan');
  });

  it('--ignore alone is a usage error that names both ways to scan', async () => {
    const r = await cli(['tag-push', `oci:${debianLayout}:v1`, 'scanned/app:v3', '--ignore', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: --ignore goes with --scan or --fail-on');
  });
});
