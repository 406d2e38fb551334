// docker-daemon:IMAGE — only where a Docker daemon runs: `docker save` into a private
// temporary archive, read like any docker-archive, removed when the source is closed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EcrctlError, NotFoundError } from '../errors.js';
import type { Session } from '../session.js';
import { DockerArchiveReader } from '../oci/layout/docker-archive.js';
import { checkedDaemonImage } from '../oci/reference.js';
import type { ImageSource } from '../oci/store.js';

/** Returns the image a Docker daemon holds, as a source read from a temporary `docker save`. */
export async function openDockerDaemonImage(
  ctx: Session,
  image: string,
): Promise<{ source: ImageSource; reference: string }> {
  checkedDaemonImage(image); // before docker runs: a leading "-" would be an option of it
  const { execa } = await import('execa');
  const dir = await mkdtemp(path.join(ctx.env.TMPDIR || tmpdir(), 'ecrctl-daemon-'));
  const file = path.join(dir, 'image.tar');
  try {
    ctx.log.verbose(`docker save -- ${image}`);
    // `--` ends docker's options: whatever the name, it is never read as one.
    await execa('docker', ['save', '-o', file, '--', image], {
      cancelSignal: ctx.signal,
      stdin: 'ignore',
      cwd: ctx.cwd,
      env: ctx.env,
      extendEnv: false,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const text = err instanceof Error ? err.message : String(err);
    if (/ENOENT/.test(text)) {
      throw new NotFoundError('docker-daemon: needs the docker command, which is not installed', {
        fix: 'save the image elsewhere (`docker save -o app.tar IMAGE`) and push docker-archive:app.tar',
      });
    }
    throw new EcrctlError(`docker save ${image} failed`, {
      cause: err,
      fix: 'check that the Docker daemon runs and has the image (`docker image ls`)',
    });
  }
  const reader = await DockerArchiveReader.open(file, undefined);
  const close = reader.close?.bind(reader);
  return {
    source: Object.assign(reader, {
      close: async () => {
        await close?.();
        await rm(dir, { recursive: true, force: true });
      },
    }),
    reference: '',
  };
}
