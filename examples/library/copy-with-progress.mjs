#!/usr/bin/env node
// ecrctl as a library, end to end with no AWS account and no Docker: start the ECR emulator,
// push an OCI image layout to it, copy the image to another repository with two tags while
// printing progress, then cancel a copy midway and see that it tagged nothing.
//
// From the repository (a package can import itself by name once built):
//   npm run build
//   node examples/make-image.mjs ./build/image v1
//   node examples/library/copy-with-progress.mjs ./build/image
// In your own project, after `npm install ecrctl`, the same file runs as it is.
import { copy, createRepositories, createSession, InterruptedError, listTags, push } from 'ecrctl';
import { startLocal } from 'ecrctl/local';

const [layout = './build/image'] = process.argv.slice(2);

/** Prints progress to stderr: what moves, each blob and manifest, warnings. */
function progress(e) {
  if (e.type === 'transfer-start') console.error(e.label);
  else if (e.type === 'transfer' && e.event.kind === 'blob-done') {
    const d = e.event.descriptor;
    console.error(`  blob ${d.digest.slice(7, 19)} ${d.size} bytes: ${e.event.result}`);
  } else if (e.type === 'transfer' && e.event.kind === 'manifest') {
    console.error(`  manifest ${e.event.digest.slice(7, 19)}${e.event.tag ? ` tagged ${e.event.tag}` : ''}`);
  } else if (e.type === 'log' && e.level !== 'verbose') console.error(e.message);
}

const ecr = await startLocal();
try {
  // The emulator takes any credentials. Against AWS, leave endpointUrl and credentials out:
  // the SDK's default chain (environment, profile, SSO, role) and AWS_REGION apply.
  const aws = {
    endpointUrl: ecr.endpoint,
    region: ecr.region,
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
  };
  const session = createSession({ ...aws, onEvent: progress });
  const made = await createRepositories(session, { names: ['team/app', 'mirror/app'] });
  if (made.errors.length > 0) throw made.errors[0];

  const pushed = await push(session, { source: `oci:${layout}:v1`, target: `${ecr.registryHost}/team/app:v1` });
  console.log(`pushed ${pushed.transfer.imageUri}`);

  const copied = await copy(session, {
    source: `${ecr.registryHost}/team/app:v1`,
    target: `${ecr.registryHost}/mirror/app:v1`,
    tags: ['stable'],
  });
  console.log(`copied ${copied.imageUri} tags ${copied.tags.join(',')}`);

  // Cancelling: abort the session's signal; the op rejects with InterruptedError and leaves
  // no tag behind. Here it is aborted at the first progress event of the transfer.
  const controller = new AbortController();
  const cancellable = createSession({
    ...aws,
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'transfer') controller.abort();
    },
  });
  try {
    await copy(cancellable, { source: `${ecr.registryHost}/team/app:v1`, target: `${ecr.registryHost}/mirror/app:v2` });
    throw new Error('the copy was not cancelled');
  } catch (err) {
    if (!(err instanceof InterruptedError)) throw err;
    const { tags } = await listTags(session, `${ecr.registryHost}/mirror/app`);
    console.log(`cancelled (exit code ${err.exitCode}); mirror/app tags ${tags.sort().join(',')}`);
  }
} finally {
  await ecr.close();
}
