// Blob upload sessions, shared by the data plane (POST/PATCH/PUT) and the layer API
// (InitiateLayerUpload/UploadLayerPart/CompleteLayerUpload). Bytes are hashed as they are
// written to uploads/<id>; a finished upload is renamed into the blob store only when its
// digest is the one the client promised.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LocalContext, UploadSession } from './context.js';
import type { RegistryRecord } from './store.js';

/** Opens a new upload session with an empty file. */
export async function startUpload(
  ctx: LocalContext,
  registry: RegistryRecord,
  repository: string,
): Promise<UploadSession> {
  const session: UploadSession = {
    id: randomUUID(),
    registry,
    repository,
    size: 0,
    hash: createHash('sha256'),
    startedAt: ctx.now(),
  };
  // Owner-only, like every blob it becomes (the upload is renamed into blobs/).
  await writeFile(ctx.store.uploadPath(session.id), '', { mode: 0o600, flag: 'wx' });
  ctx.uploads.set(session.id, session);
  return session;
}

/** Appends bytes held in memory (an API part). */
export async function appendBytes(ctx: LocalContext, session: UploadSession, bytes: Buffer): Promise<void> {
  await appendFile(ctx.store.uploadPath(session.id), bytes);
  session.hash.update(bytes);
  session.size += bytes.length;
}

/** Streams a request body onto the end of the upload, hashing on the way. */
export async function appendStream(
  ctx: LocalContext,
  session: UploadSession,
  body: NodeJS.ReadableStream,
): Promise<number> {
  let added = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      session.hash.update(chunk);
      added += chunk.length;
      done(null, chunk);
    },
  });
  session.busy = true;
  try {
    await pipeline(body, tap, createWriteStream(ctx.store.uploadPath(session.id), { flags: 'a' }));
  } finally {
    session.busy = false;
    session.size += added;
  }
  return added;
}

/** Returns the digest of everything received so far (the session stays usable). */
export function uploadDigest(session: UploadSession): string {
  return `sha256:${session.hash.copy().digest('hex')}`;
}

/** Moves a verified upload into the blob store and ends the session. */
export async function commitUpload(ctx: LocalContext, session: UploadSession, digest: string): Promise<void> {
  ctx.uploads.delete(session.id);
  await ctx.store.commitUpload(session.id, digest);
}

/** Ends a session and removes its file. */
export async function abortUpload(ctx: LocalContext, session: UploadSession): Promise<void> {
  ctx.uploads.delete(session.id);
  await ctx.store.discardUpload(session.id);
}
