// `ecrctl build`, `rebase` and `check-base` on the command line against `ecrctl local`:
// tag strategies and GitHub outputs as tag-push, --output env/json, --dry-run, usage errors
// (exit 2), and check-base's exit 3 once the base tag moves.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type FixtureImage, writeOciLayout } from '../helpers/fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let work: string;
let base: FixtureImage;
let patched: FixtureImage;
const SHA = 'abc1234def5678901234567890abcdef12345678';
const github = (extra: Record<string, string> = {}) => ({
  GITHUB_ACTIONS: 'true',
  GITHUB_SHA: SHA,
  GITHUB_REF_NAME: 'main',
  GITHUB_REF_TYPE: 'branch',
  GITHUB_REPOSITORY: 'octo/app',
  GITHUB_SERVER_URL: 'https://github.com',
  ...extra,
});

beforeAll(async () => {
  env = await startRepoEnv();
  work = path.join(env.dir, 'work');
  mkdirSync(path.join(work, 'app'), { recursive: true });
  writeFileSync(path.join(work, 'app', 'index.js'), 'exports.handler = async () => "ok";\n');
  base = buildImage(301, { layers: 2, layerSize: 1500 });
  patched = buildImage(302, { layers: 2, layerSize: 1500 });
  writeOciLayout(path.join(work, 'base'), [{ image: base, tag: '1' }]);
  writeOciLayout(path.join(work, 'patched'), [{ image: patched, tag: '1' }]);
}, 60_000);
afterAll(async () => {
  await env?.close();
});

const cli = (args: string[], extra: Record<string, string> = {}) => env.cli(args, { cwd: work, env: extra });

describe('ecrctl build', () => {
  it('pushes with --tag-strategy branch-sha and --create-repo, writes GITHUB_OUTPUT and annotations', async () => {
    const outputs = path.join(env.dir, 'gh-output');
    const r = await cli(
      [
        'build',
        '--from',
        'oci:./base:1',
        '--add',
        './app:/var/task',
        '--cmd',
        'index.handler',
        '--target',
        'cli/fn',
        '-s',
        'branch-sha',
        '--create-repo',
      ],
      github({ GITHUB_OUTPUT: outputs }),
    );
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^built .*\/cli\/fn tags main-abc1234 sha256:[0-9a-f]{64} onto oci:\.\/base:1 \(1 new layer; blobs: 2 new, 0 mounted, 0 skipped, 2 streamed;/,
    );
    const images = await env.ecr.send(new DescribeImagesCommand({ repositoryName: 'cli/fn' }));
    expect(images.imageDetails?.[0]?.imageTags).toEqual(['main-abc1234']);
    const digest = images.imageDetails?.[0]?.imageDigest;
    expect(readFileSync(outputs, 'utf8')).toContain(`image-digest=${digest}\n`);
    const inspect = await cli(['inspect', 'cli/fn:main-abc1234', '--raw']);
    const manifest = JSON.parse(inspect.stdout);
    expect(manifest.annotations).toEqual({
      'org.opencontainers.image.base.name': 'oci:./base:1',
      'org.opencontainers.image.base.digest': base.manifest.digest,
      'org.opencontainers.image.source': 'https://github.com/octo/app',
      'org.opencontainers.image.revision': SHA,
    });
  });

  it('prints KEY=value lines with --output env, and the same digest on a re-run (tags unchanged)', async () => {
    const args = ['build', '--from', 'oci:./base:1', '--add', './app:/app', '--target', 'oci:./out:v1', '-o', 'env'];
    const a = await cli(args);
    const b = await cli(args);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(
      /^IMAGE_URI=oci:\.\/out:v1\nIMAGE_DIGEST=sha256:[0-9a-f]{64}\nIMAGE_TAGS=v1\nIMAGE_BASE=oci:\.\/base:1\nIMAGE_BASE_DIGEST=sha256:[0-9a-f]{64}\n$/,
    );
    expect(b.stdout).toBe(a.stdout);
  });

  it('merges every --add into one layer with --one-layer, and sets workdir, user and ports', async () => {
    writeFileSync(path.join(work, 'extra.txt'), 'x');
    const r = await cli([
      'build',
      '--from',
      'oci:./base:1',
      '--add',
      './app:/app',
      '--add',
      './extra.txt:/etc/extra.txt:0600',
      '--one-layer',
      '--workdir',
      '/app',
      '--user',
      '1000:1000',
      '--expose',
      '8080',
      '--target',
      'oci:./one:v1',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.layers).toHaveLength(1);
    expect(out.layers[0].createdBy).toBe('ecrctl build --add app:/app --add extra.txt:/etc/extra.txt:0600');
    const index = JSON.parse(readFileSync(path.join(work, 'one', 'index.json'), 'utf8'));
    const manifest = JSON.parse(
      readFileSync(path.join(work, 'one', 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    );
    const config = JSON.parse(
      readFileSync(path.join(work, 'one', 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'),
    );
    expect(config.config).toMatchObject({ WorkingDir: '/app', User: '1000:1000', ExposedPorts: { '8080/tcp': {} } });
  });

  it('plans with --dry-run and writes nothing', async () => {
    const r = await cli([
      'build',
      '--from',
      'oci:./base:1',
      '--add',
      './app:/app',
      '--target',
      'cli/dry:v1',
      '--create-repo',
      '--dry-run',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.dryRun).toBe(true);
    expect(out.plan.createRepository).toBe(true);
    expect(out.tags).toEqual(['v1']);
    const repos = await cli(['repos', '-o', 'json']);
    expect(repos.stdout).not.toContain('cli/dry');
  });

  it("--no-tag-strategy turns the config's default strategies off for build and rebase", async () => {
    const proj = path.join(env.dir, 'nostrat');
    mkdirSync(proj, { recursive: true });
    writeFileSync(
      path.join(proj, '.ecrctl.yaml'),
      ['repositories:', '  - pattern: cli/strat-*', '    strategies: [sha]', ''].join('\n'),
    );
    const base = path.join(work, 'base');
    const dry = (verb: string[], extra: string[]) =>
      env.cli([...verb, '--create-repo', '--dry-run', '-o', 'json', ...extra], { cwd: proj, env: github() });
    const build = ['build', '--from', `oci:${base}:1`, '--add', `${path.join(work, 'app')}:/app`];
    const withConfig = await dry([...build, '--target', 'cli/strat-a:v1'], []);
    expect(withConfig.code, withConfig.stderr).toBe(0);
    expect(JSON.parse(withConfig.stdout).tags).toEqual(['v1', 'abc1234']);
    const without = await dry([...build, '--target', 'cli/strat-a:v1'], ['--no-tag-strategy']);
    expect(without.code, without.stderr).toBe(0);
    expect(JSON.parse(without.stdout).tags).toEqual(['v1']);

    const rebase = [
      'rebase',
      `oci:${base}:1`,
      '--old-base',
      `oci:${base}:1`,
      '--new-base',
      `oci:${path.join(work, 'patched')}:1`,
      '--target',
      'cli/strat-b:v2',
    ];
    const rebased = await dry(rebase, ['--no-tag-strategy']);
    expect(rebased.code, rebased.stderr).toBe(0);
    expect(JSON.parse(rebased.stdout).tags).toEqual(['v2']);
    const rebasedDefault = await dry(rebase, []);
    expect(JSON.parse(rebasedDefault.stdout).tags).toEqual(['v2', 'abc1234']);
  });

  it('exits 2 for a malformed --add, a bad --entrypoint, or nothing to add', async () => {
    const bad = await cli(['build', '--from', 'oci:./base:1', '--add', './app', '--target', 'oci:./x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--add is SRC:DEST');
    const ep = await cli(['build', '--from', 'oci:./base:1', '--entrypoint', '["node",', '--target', 'oci:./x']);
    expect(ep.code).toBe(2);
    expect(ep.stderr).toContain('JSON array of strings');
    const none = await cli(['build', '--from', 'oci:./base:1', '--target', 'oci:./x']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('needs something to add');
  });
});

describe('ecrctl check-base and rebase', () => {
  it('exits 0 while the base is current, 3 after the base tag moves; rebase brings it back to 0', async () => {
    expect((await cli(['tag-push', 'oci:./base:1', 'cli/base:1', '--create-repo'])).code).toBe(0);
    const built = await cli([
      'build',
      '--from',
      'cli/base:1',
      '--add',
      './app:/app',
      '--target',
      'cli/app:v1',
      '--create-repo',
      '-o',
      'json',
    ]);
    expect(built.code).toBe(0);
    const builtDigest = JSON.parse(built.stdout).digest;

    const ok = await cli(['check-base', 'cli/app:v1']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('up to date with');

    expect((await cli(['tag-push', 'oci:./patched:1', 'cli/base:1'])).code).toBe(0);
    const moved = await cli(['check-base', 'cli/app:v1', '-o', 'json']);
    expect(moved.code).toBe(3);
    const report = JSON.parse(moved.stdout);
    expect(report).toMatchObject({ upToDate: false, builtOn: base.manifest.digest, current: patched.manifest.digest });
    expect(moved.stderr).toContain('has moved on');

    const host = report.base.slice(0, report.base.indexOf('/'));
    const rebased = await cli([
      'rebase',
      'cli/app:v1',
      '--old-base',
      `${host}/cli/base@${base.manifest.digest}`,
      '--new-base',
      'cli/base:1',
      '--target',
      'cli/app:v1-patched',
      '-o',
      'json',
    ]);
    expect(rebased.stderr).not.toContain('error');
    expect(rebased.code).toBe(0);
    const r = JSON.parse(rebased.stdout);
    expect(r.action).toBe('rebased');
    expect(r.digest).not.toBe(builtDigest);
    expect((await cli(['check-base', 'cli/app:v1-patched'])).code).toBe(0);

    const wrong = await cli([
      'rebase',
      'cli/app:v1-patched',
      '--old-base',
      `${host}/cli/base@${base.manifest.digest}`,
      '--new-base',
      'cli/base:1',
      '--target',
      'cli/app:x',
    ]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('is not built on');
  });

  it('exits 2 for an image without base annotations and no --base', async () => {
    const r = await cli(['check-base', 'oci:./base:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--base');
  });
});
