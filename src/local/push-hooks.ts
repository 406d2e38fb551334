// The afterPush hooks the server subscribes: what ECR does on its own once a push lands.
// images.ts fires them (see LocalContext.afterPush) without importing any of them, so the
// image rules stay below the features built on top of them.
import type { AfterPushHook } from './context.js';
import { replicateOnPush } from './ecr-api/replication.js';
import { signOnPush } from './ecr-api/signing.js';

/** Replication: copies the image to every destination the registry's replication rules give its repository. */
export const replicateAfterPush: AfterPushHook = (ctx, e) =>
  replicateOnPush(ctx, e.registry, e.repository, e.image.digest, e.tag);

/** Managed signing: a signing rule covering the repository attaches a signature referrer. */
export const signAfterPush: AfterPushHook = (ctx, e) => signOnPush(ctx, e.registry, e.repository, e.image);

/** Returns the hooks every endpoint runs after a push, in order: replicate first, then sign. */
export function defaultAfterPushHooks(): AfterPushHook[] {
  return [replicateAfterPush, signAfterPush];
}
