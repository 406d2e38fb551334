// In-use evidence: which images running things refer to, read from files users already have
// (`aws ecs describe-task-definition`, `kubectl get pods -A -o json`, `aws lambda
// get-function` / `list-functions`, or a plain list of references), and the matching of those
// references against an inventory. A reference by tag is resolved to the digest the tag names
// now and marked "by tag": the tag can have moved since the workload started. Pure: the files'
// text comes in, the images come in.

/** Which kind of file a reference was read from. */
export type InUseSource = 'ecs' | 'kubernetes' | 'lambda' | 'list';

/** One image reference a workload uses. */
export interface InUseRef {
  /** The reference as written in the file. */
  ref: string;
  /** The registry host, when the reference names one. */
  registry?: string;
  /** The account and region of an ECR host. */
  account?: string;
  region?: string;
  repository: string;
  tag?: string;
  digest?: string;
  source: InUseSource;
  /** What uses it: `ecs task-definition web:12`, `pod prod/web-5d8f (container app)`, `lambda fn`. */
  usedBy: string;
}

/** The references of one evidence file, and what in it could not be used. */
export interface InUseEvidence {
  /** What the file was recognised as. */
  kind: InUseSource;
  refs: InUseRef[];
  /** Entries that could not be used, each saying why (the file itself was readable). */
  problems: string[];
}

const ECR_HOST = /^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Returns the parts of an image reference (`host/repo:tag@digest`), or undefined when it is not one. */
export function parseImageRef(text: string): Omit<InUseRef, 'source' | 'usedBy'> | undefined {
  let rest = text.trim();
  // kubectl's imageID carries a scheme: docker-pullable://repo@sha256:…
  rest = rest.replace(/^[a-z-]+:\/\//, '');
  if (rest === '' || /\s/.test(rest)) return undefined;
  const out: Omit<InUseRef, 'source' | 'usedBy'> = { ref: text.trim(), repository: '' };
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    if (!DIGEST.test(digest)) return undefined;
    out.digest = digest;
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    out.registry = first;
    rest = rest.slice(slash + 1);
    const ecr = ECR_HOST.exec(first);
    if (ecr) {
      out.account = ecr[1] as string;
      out.region = ecr[2] as string;
    }
  }
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    out.tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(out.tag)) return undefined;
  }
  if (!/^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/.test(rest)) return undefined;
  out.repository = rest;
  return out;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Returns the image references in an evidence file, recognising its kind from its shape:
 * ECS task definitions (`taskDefinition` / `taskDefinitions` / a bare definition with
 * `containerDefinitions`), Kubernetes pods (`kind: List` / `PodList` / one Pod), Lambda
 * (`Configuration` + `Code.ImageUri` of get-function, `Functions` of list-functions), or
 * plain text with one reference per line (`#` comments). `name` is used in problems.
 */
export function parseInUseEvidence(text: string, name: string): InUseEvidence {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return parsePlainList(text, name);
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(doc) ? doc : [doc];
  const first = items.find(isObject);
  if (first === undefined) {
    if (items.every((x) => typeof x === 'string')) return parsePlainList((items as string[]).join('\n'), name);
    throw new Error(`${name}: no objects to read image references from`);
  }
  if (
    'taskDefinition' in first ||
    'taskDefinitions' in first ||
    'containerDefinitions' in first ||
    'taskDefinitionArns' in first
  )
    return parseEcs(items, name);
  if ('Functions' in first || 'Code' in first || 'Configuration' in first) return parseLambda(items, name);
  if ('items' in first || first.kind === 'Pod' || first.kind === 'List' || first.kind === 'PodList')
    return parseKubernetes(items, name);
  throw new Error(
    `${name}: not a recognised evidence file (ECS describe-task-definition, kubectl get pods -o json, lambda get-function / list-functions, or one reference per line)`,
  );
}

function addRef(out: InUseEvidence, text: unknown, usedBy: string, where: string): InUseRef | undefined {
  const s = str(text);
  if (s === undefined) {
    out.problems.push(`${where}: no image`);
    return undefined;
  }
  const parsed = parseImageRef(s);
  if (!parsed) {
    out.problems.push(`${where}: "${s}" is not an image reference`);
    return undefined;
  }
  const ref: InUseRef = { ...parsed, source: out.kind, usedBy };
  out.refs.push(ref);
  return ref;
}

function parsePlainList(text: string, name: string): InUseEvidence {
  const out: InUseEvidence = { kind: 'list', refs: [], problems: [] };
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line !== '') addRef(out, line, `list ${name}`, `${name}:${i + 1}`);
  });
  return out;
}

function parseEcs(items: unknown[], name: string): InUseEvidence {
  const out: InUseEvidence = { kind: 'ecs', refs: [], problems: [] };
  const defs: Json[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    if (isObject(item.taskDefinition)) defs.push(item.taskDefinition);
    if (Array.isArray(item.taskDefinitions)) defs.push(...item.taskDefinitions.filter(isObject));
    if (Array.isArray(item.containerDefinitions)) defs.push(item);
    if (Array.isArray(item.taskDefinitionArns)) {
      // list-task-definitions names definitions, not images: say what to run instead.
      out.problems.push(
        `${name}: list-task-definitions output names ${item.taskDefinitionArns.length} task definitions but no images; save \`aws ecs describe-task-definition --task-definition ARN\` for each`,
      );
    }
  }
  for (const def of defs) {
    const family = str(def.family) ?? str(def.taskDefinitionArn) ?? 'task definition';
    const label = def.revision !== undefined ? `${family}:${String(def.revision)}` : family;
    const containers = Array.isArray(def.containerDefinitions) ? def.containerDefinitions.filter(isObject) : [];
    for (const c of containers) {
      addRef(out, c.image, `ecs task-definition ${label} (container ${str(c.name) ?? '?'})`, `${name}: ${label}`);
    }
  }
  return out;
}

function parseKubernetes(items: unknown[], name: string): InUseEvidence {
  const out: InUseEvidence = { kind: 'kubernetes', refs: [], problems: [] };
  const pods: Json[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    if (Array.isArray(item.items)) pods.push(...item.items.filter(isObject));
    else if (item.kind === 'Pod') pods.push(item);
  }
  for (const pod of pods) {
    const meta = isObject(pod.metadata) ? pod.metadata : {};
    const podName = `${str(meta.namespace) ?? 'default'}/${str(meta.name) ?? '?'}`;
    const spec = isObject(pod.spec) ? pod.spec : {};
    const status = isObject(pod.status) ? pod.status : {};
    // The status says which digest each container actually runs (imageID), by container name.
    const running = new Map<string, string>();
    for (const key of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
      const list = Array.isArray(status[key]) ? (status[key] as unknown[]).filter(isObject) : [];
      for (const s of list) {
        const id = str(s.imageID);
        const digest = id ? parseImageRef(id)?.digest : undefined;
        if (digest && str(s.name)) running.set(s.name as string, digest);
      }
    }
    for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
      const list = Array.isArray(spec[key]) ? (spec[key] as unknown[]).filter(isObject) : [];
      for (const c of list) {
        const cname = str(c.name) ?? '?';
        const ref = addRef(out, c.image, `pod ${podName} (container ${cname})`, `${name}: pod ${podName}`);
        const digest = running.get(cname);
        if (ref && ref.digest === undefined && digest) ref.digest = digest;
      }
    }
  }
  return out;
}

function parseLambda(items: unknown[], name: string): InUseEvidence {
  const out: InUseEvidence = { kind: 'lambda', refs: [], problems: [] };
  const fns: { config: Json; code: Json }[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    if (Array.isArray(item.Functions)) {
      for (const f of item.Functions.filter(isObject)) fns.push({ config: f, code: isObject(f.Code) ? f.Code : {} });
    } else {
      fns.push({
        config: isObject(item.Configuration) ? item.Configuration : item,
        code: isObject(item.Code) ? item.Code : {},
      });
    }
  }
  for (const { config, code } of fns) {
    const fn = str(config.FunctionName) ?? 'function';
    if (config.PackageType !== undefined && config.PackageType !== 'Image') continue; // a zip function
    const uri = str(code.ResolvedImageUri) ?? str(code.ImageUri) ?? str(config.ImageUri);
    if (uri === undefined) {
      out.problems.push(
        `${name}: lambda ${fn} is an image function but the file has no image URI; save \`aws lambda get-function --function-name ${fn}\``,
      );
      continue;
    }
    const ref = addRef(out, uri, `lambda ${fn}`, `${name}: lambda ${fn}`);
    // get-function gives both: keep the written tag, take the digest Lambda resolved.
    const tagged = str(code.ImageUri);
    if (ref && tagged && tagged !== uri) {
      const t = parseImageRef(tagged);
      if (t?.tag && ref.tag === undefined) ref.tag = t.tag;
      ref.ref = tagged;
    }
  }
  return out;
}

/** An image as the in-use matcher needs it. */
export interface InUseCandidate {
  account: string;
  region: string;
  repository: string;
  digest: string;
  tags: readonly string[];
}

/** Who uses an image, and whether the link is a digest or a tag that may have moved. */
export interface InUseMatch {
  usedBy: string;
  ref: string;
  byTag: boolean;
}

/**
 * Returns, by image key (`account/region/repository@digest`), who uses each image. A
 * reference on an ECR host matches that account and region only; one without a host (or on
 * a loopback host, as ecrctl local serves) matches the repository in any account and
 * region; other hosts match nothing. A digest matches exactly; a tag alone matches the image
 * the tag names now (byTag).
 */
export function matchInUse(images: readonly InUseCandidate[], refs: readonly InUseRef[]): Map<string, InUseMatch[]> {
  const byRepo = new Map<string, InUseCandidate[]>();
  for (const im of images) {
    const list = byRepo.get(im.repository) ?? [];
    list.push(im);
    byRepo.set(im.repository, list);
  }
  const found = new Map<string, InUseMatch[]>();
  for (const ref of refs) {
    if (ref.registry !== undefined && ref.account === undefined && !isLoopback(ref.registry)) continue;
    for (const im of byRepo.get(ref.repository) ?? []) {
      if (ref.account !== undefined && (ref.account !== im.account || ref.region !== im.region)) continue;
      let byTag: boolean;
      if (ref.digest !== undefined) {
        if (ref.digest !== im.digest) continue;
        byTag = false;
      } else {
        // No tag and no digest means latest, as every container runtime reads it.
        if (!im.tags.includes(ref.tag ?? 'latest')) continue;
        byTag = true;
      }
      const key = imageKey(im);
      const list = found.get(key) ?? [];
      if (!list.some((m) => m.usedBy === ref.usedBy && m.ref === ref.ref))
        list.push({ usedBy: ref.usedBy, ref: ref.ref, byTag });
      found.set(key, list);
    }
  }
  return found;
}

/** Returns the key matchInUse uses for an image. */
export function imageKey(im: { account: string; region: string; repository: string; digest: string }): string {
  return `${im.account}/${im.region}/${im.repository}@${im.digest}`;
}

function isLoopback(host: string): boolean {
  const name = host.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\./.test(name);
}
