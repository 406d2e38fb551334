// `docker-daemon:IMAGE` runs `docker save`: an image name starting with `-` would become an
// option of docker (`docker-daemon:--output=/tmp/x` wrote wherever it said). It is refused as
// a usage error before docker runs, and the name always follows `--`. A stand-in `docker` on
// PATH records its argv: docker is not installed on the test machines.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EcrctlError, UsageError } from '../../src/errors.js';
import { parseLocation } from '../../src/oci/reference.js';
import { openDockerDaemonImage } from '../../src/ops/docker-daemon.js';
import { createSession } from '../../src/session.js';

const root = mkdtempSync(path.join(tmpdir(), 'ecrctl-daemon-name-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const argvFile = path.join(root, 'docker-argv');
const bin = path.join(root, 'bin');
mkdirSync(bin);
writeFileSync(
  path.join(bin, 'docker'),
  `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvFile}'\necho 'Error: No such image' >&2\nexit 1\n`,
);
chmodSync(path.join(bin, 'docker'), 0o755);

const session = () => createSession({ env: { PATH: `${bin}:/usr/bin:/bin`, TMPDIR: root }, cwd: root });

describe('docker-daemon: image names', () => {
  it.each(['docker-daemon:--output=/tmp/x', 'docker-daemon:-o', 'docker-daemon:-'])(
    'parseLocation refuses %s as a usage error (exit 2)',
    (text) => {
      const err = (() => {
        try {
          return parseLocation(text);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as UsageError).message).toBe(
        `docker-daemon: the image name ${JSON.stringify(text.slice('docker-daemon:'.length))} starts with "-"`,
      );
      expect((err as UsageError).rule).toBe(
        'an image name does not start with "-" (docker would read it as an option)',
      );
    },
  );

  it('openDockerDaemonImage refuses a name starting with "-" before running docker', async () => {
    rmSync(argvFile, { force: true });
    const err = await openDockerDaemonImage(session(), '--output=/tmp/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect(existsSync(argvFile)).toBe(false);
  });

  it('passes the image name to docker save after "--"', async () => {
    rmSync(argvFile, { force: true });
    const err = await openDockerDaemonImage(session(), 'app:v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrctlError);
    expect((err as EcrctlError).message).toBe('docker save app:v1 failed');
    const argv = readFileSync(argvFile, 'utf8').trim().split('\n');
    expect(argv[0]).toBe('save');
    expect(argv.slice(-2)).toEqual(['--', 'app:v1']);
  });
});
