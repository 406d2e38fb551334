// Short references that name something in the working directory: ecrctl asks whether the
// layout or the archive was meant, before it goes to any registry.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-locations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'x', HOME: dir };

describe('a short reference that names a local layout or archive', () => {
  it('tag-push hello asks "did you mean oci:hello?" when ./hello is an OCI layout (exit 2)', async () => {
    mkdirSync(path.join(dir, 'hello'));
    writeFileSync(path.join(dir, 'hello', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const r = await runCli(['tag-push', 'hello:v1', '127.0.0.1:9/team/app:v1'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hello:v1 names an ECR repository, and ./hello is an OCI image layout');
    expect(r.stderr).toContain('did you mean oci:hello:v1?');
  });

  it('pull to image.tar asks "did you mean docker-archive:image.tar?" when it is a file', async () => {
    writeFileSync(path.join(dir, 'image.tar'), '');
    const r = await runCli(['copy', 'image.tar', '127.0.0.1:9/team/app:v1'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean docker-archive:image.tar?');
  });

  it('names the transports for a path or a foreign transport', async () => {
    const r = await runCli(['pull', '127.0.0.1:9/team/app:v1', 'dir:./out'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ecrctl has no dir: transport');
    expect(r.stderr).toContain('fix:   write oci:./out for an OCI image layout directory');
  });
});
