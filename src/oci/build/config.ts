// Image config and manifest changes of a build: new layers appended with their diff_ids and
// history, the runtime settings (env merged with the base's, exec-form entrypoint and cmd,
// workdir, user, labels, ports), and the manifest annotations that name the base image.
import { UsageError } from '../../errors.js';

/** OCI annotation keys a build writes. */
export const Annotation = {
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
  created: 'org.opencontainers.image.created',
  source: 'org.opencontainers.image.source',
  revision: 'org.opencontainers.image.revision',
} as const;

/** What a build changes in the runtime config. */
export interface ConfigChanges {
  /** `K=V` pairs: a key the base has is replaced in place, a new key is appended. */
  env?: readonly string[];
  entrypoint?: readonly string[];
  cmd?: readonly string[];
  workdir?: string;
  user?: string;
  labels?: Readonly<Record<string, string>>;
  /** `8080/tcp`, `53/udp` (a bare number means tcp). */
  expose?: readonly string[];
}

/** A layer as the config sees it. */
export interface ConfigLayer {
  diffId: string;
  createdBy: string;
}

/** A JSON object as parsed (configs carry fields this code does not know and must keep). */
export type JsonObject = Record<string, unknown>;

/**
 * Returns `--entrypoint` / `--cmd` text in exec form: a JSON array of strings as given, or a
 * plain string split on whitespace (no shell: `node /app/index.js` → ["node","/app/index.js"]).
 */
export function execForm(text: string, flag: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
      throw new UsageError(`${flag} is not a JSON array of strings`, {
        value: text,
        fix: `write ${flag} '["node","/app/index.js"]' (double quotes inside, single quotes around)`,
      });
    }
    return parsed as string[];
  }
  return t === '' ? [] : t.split(/\s+/);
}

/** Returns `K=V` checked (a name before `=`). */
export function checkEnv(pair: string): string {
  const eq = pair.indexOf('=');
  if (eq <= 0) {
    throw new UsageError(`--env ${JSON.stringify(pair)} has no NAME=`, { value: pair, fix: 'write --env NAME=value' });
  }
  return pair;
}

/** Returns env merged: base order kept, a given key replaces the base's value. */
export function mergeEnv(base: readonly string[], given: readonly string[]): string[] {
  const out = [...base];
  for (const pair of given) {
    const key = pair.slice(0, pair.indexOf('='));
    const at = out.findIndex((p) => p.slice(0, p.indexOf('=')) === key || p === key);
    if (at >= 0) out[at] = pair;
    else out.push(pair);
  }
  return out;
}

function exposeKey(port: string): string {
  if (!/^[0-9]{1,5}(?:\/(?:tcp|udp|sctp))?$/.test(port)) {
    throw new UsageError(`--expose ${port} is not PORT[/tcp|udp|sctp]`, {
      value: port,
      fix: 'write e.g. --expose 8080/tcp',
    });
  }
  return port.includes('/') ? port : `${port}/tcp`;
}

/**
 * Returns a new config: the base's with layers appended (diff_ids and one history entry
 * each), the runtime changes applied, `created` set; `configNote` becomes an empty-layer
 * history entry that names the flags (never their values) when runtime settings changed.
 */
export function mutateConfig(
  base: JsonObject,
  layers: readonly ConfigLayer[],
  changes: ConfigChanges,
  created: string,
  configNote: string | undefined,
): JsonObject {
  const cfg: JsonObject = structuredClone(base);
  const runtime: JsonObject = { ...((cfg.config as JsonObject | undefined) ?? {}) };
  if (changes.env && changes.env.length > 0) {
    runtime.Env = mergeEnv(Array.isArray(runtime.Env) ? (runtime.Env as string[]) : [], changes.env);
  }
  if (changes.entrypoint) {
    runtime.Entrypoint = [...changes.entrypoint];
    // As in a Dockerfile: a new entrypoint drops the base's cmd unless a cmd is given too.
    if (!changes.cmd) delete runtime.Cmd;
  }
  if (changes.cmd) runtime.Cmd = [...changes.cmd];
  if (changes.workdir !== undefined) runtime.WorkingDir = changes.workdir;
  if (changes.user !== undefined) runtime.User = changes.user;
  if (changes.labels && Object.keys(changes.labels).length > 0) {
    runtime.Labels = { ...((runtime.Labels as JsonObject | undefined) ?? {}), ...changes.labels };
  }
  if (changes.expose && changes.expose.length > 0) {
    const ports: JsonObject = { ...((runtime.ExposedPorts as JsonObject | undefined) ?? {}) };
    for (const p of changes.expose) ports[exposeKey(p)] = {};
    runtime.ExposedPorts = ports;
  }
  cfg.config = runtime;
  cfg.created = created;
  const rootfs: JsonObject = { type: 'layers', ...((cfg.rootfs as JsonObject | undefined) ?? {}) };
  rootfs.diff_ids = [...((rootfs.diff_ids as string[] | undefined) ?? []), ...layers.map((l) => l.diffId)];
  cfg.rootfs = rootfs;
  const history = [...((cfg.history as JsonObject[] | undefined) ?? [])];
  for (const l of layers) history.push({ created, created_by: l.createdBy, comment: 'ecrctl build' });
  if (configNote) history.push({ created, created_by: configNote, comment: 'ecrctl build', empty_layer: true });
  cfg.history = history;
  return cfg;
}

/**
 * Returns the source and revision annotations from CI variables: GitHub Actions
 * (`GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`, `GITHUB_SHA`), CodeBuild
 * (`CODEBUILD_SOURCE_REPO_URL`, `CODEBUILD_RESOLVED_SOURCE_VERSION`), GitLab (`CI_PROJECT_URL`, `CI_COMMIT_SHA`).
 */
export function ciAnnotations(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  const source =
    env.GITHUB_REPOSITORY && env.GITHUB_ACTIONS === 'true'
      ? `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}`
      : (env.CODEBUILD_SOURCE_REPO_URL ?? env.CI_PROJECT_URL);
  const revision =
    env.GITHUB_ACTIONS === 'true' ? env.GITHUB_SHA : (env.CODEBUILD_RESOLVED_SOURCE_VERSION ?? env.CI_COMMIT_SHA);
  if (source) out[Annotation.source] = source;
  if (revision) out[Annotation.revision] = revision;
  return out;
}
