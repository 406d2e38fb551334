// The shape of an API operation handler and the small input / output helpers every
// operation family uses: field readers that answer with ECR's InvalidParameterException
// wording, nextToken paging as ECR does it, and ECR's resource names (ARN, URI).
import { findRepository, type LocalContext } from '../context.js';
import { ApiError, invalidParameter, repositoryNotFound } from '../errors.js';
import { REGISTRY_ID } from '../rules.js';
import type { RegistryRecord, RepositoryRecord } from '../store.js';

/** One API call, after the transport has checked the signature header and parsed the body. */
export interface ApiRequest {
  readonly ctx: LocalContext;
  /** From the SigV4 credential scope. */
  readonly region: string;
  readonly accessKeyId: string;
  readonly input: Record<string, unknown>;
}

/** An operation: returns the response document (or throws ApiError). */
export type Handler = (req: ApiRequest) => Promise<unknown>;

/** A family of operations, by operation name. */
export type OperationTable = Record<string, Handler>;

/** Returns a string field; undefined when absent and not required. */
export function str(
  input: Record<string, unknown>,
  field: string,
  opts: { required?: boolean; min?: number; max?: number; pattern?: RegExp; patternText?: string } = {},
): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.required) throw invalidParameter(field, 'Member must not be null');
    return undefined;
  }
  if (typeof v !== 'string') throw new ApiError('SerializationException', `Expected a string for '${field}'`);
  if (opts.min !== undefined && v.length < opts.min) {
    throw invalidParameter(field, `Member must have length greater than or equal to ${opts.min}`);
  }
  if (opts.max !== undefined && v.length > opts.max) {
    throw invalidParameter(field, `Member must have length less than or equal to ${opts.max}`);
  }
  if (opts.pattern && !opts.pattern.test(v)) {
    throw invalidParameter(field, `must satisfy regular expression '${opts.patternText ?? opts.pattern.source}'`);
  }
  return v;
}

/** Returns a required string field. */
export function reqStr(input: Record<string, unknown>, field: string, opts: Parameters<typeof str>[2] = {}): string {
  return str(input, field, { ...opts, required: true }) as string;
}

/** Returns a boolean field. */
export function bool(input: Record<string, unknown>, field: string): boolean | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ApiError('SerializationException', `Expected a boolean for '${field}'`);
  return v;
}

/** Returns an integer field within [min, max]. */
export function int(input: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ApiError('SerializationException', `Expected an integer for '${field}'`);
  }
  if (v < min) throw invalidParameter(field, `Member must have value greater than or equal to ${min}`);
  if (v > max) throw invalidParameter(field, `Member must have value less than or equal to ${max}`);
  return v;
}

/** Returns an array field (of objects or strings, as the caller checks). */
export function list<T = unknown>(
  input: Record<string, unknown>,
  field: string,
  opts: { required?: boolean; min?: number; max?: number } = {},
): T[] | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.required) throw invalidParameter(field, 'Member must not be null');
    return undefined;
  }
  if (!Array.isArray(v)) throw new ApiError('SerializationException', `Expected a list for '${field}'`);
  if (opts.min !== undefined && v.length < opts.min) {
    throw invalidParameter(field, `Member must have length greater than or equal to ${opts.min}`);
  }
  if (opts.max !== undefined && v.length > opts.max) {
    throw invalidParameter(field, `Member must have length less than or equal to ${opts.max}`);
  }
  return v as T[];
}

/** Returns an object field. */
export function obj(
  input: Record<string, unknown>,
  field: string,
  required = false,
): Record<string, unknown> | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (required) throw invalidParameter(field, 'Member must not be null');
    return undefined;
  }
  if (typeof v !== 'object' || Array.isArray(v))
    throw new ApiError('SerializationException', `Expected a structure for '${field}'`);
  return v as Record<string, unknown>;
}

/** Returns the private registry a request addresses (registryId or the default account). */
export function privateRegistry(req: ApiRequest): RegistryRecord {
  const id = str(req.input, 'registryId', { pattern: REGISTRY_ID, patternText: '[0-9]{12}' }) ?? req.ctx.account;
  return req.ctx.store.registry('private', id, req.region);
}

/** Returns the repository named by input.repositoryName, or throws RepositoryNotFoundException. */
export function requireRepository(registry: RegistryRecord, name: string): RepositoryRecord {
  const repo = findRepository(registry, name);
  if (!repo) throw repositoryNotFound(name, registry.account);
  return repo;
}

/** Returns seconds since the epoch, the awsJson timestamp format, for epoch milliseconds. */
export function ts(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

/** Returns the repository ARN. */
export function repositoryArn(registry: RegistryRecord, name: string): string {
  return registry.kind === 'public'
    ? `arn:aws:ecr-public::${registry.account}:repository/${name}`
    : `arn:aws:ecr:${registry.region}:${registry.account}:repository/${name}`;
}

/** Returns host:port of a registry's data plane, starting it when needed. */
export async function registryHost(ctx: LocalContext, registry: RegistryRecord): Promise<string> {
  return new URL(await ctx.registryEndpoint(registry)).host;
}

/** One page of items in a fixed order, with ECR's maxResults / nextToken rules. */
export function page<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  input: Record<string, unknown>,
  defaultMax = 100,
): { items: T[]; nextToken?: string } {
  const max = int(input, 'maxResults', 1, 1000) ?? defaultMax;
  const token = str(input, 'nextToken');
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  let start = 0;
  if (token !== undefined) {
    let after: unknown;
    try {
      after = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown }).after;
    } catch {
      after = undefined;
    }
    if (typeof after !== 'string') throw invalidParameter('nextToken', 'Invalid pagination token');
    start = sorted.findIndex((i) => keyOf(i) > after);
    if (start < 0) start = sorted.length;
  }
  const pageItems = sorted.slice(start, start + max);
  const out: { items: T[]; nextToken?: string } = { items: pageItems };
  const last = pageItems[pageItems.length - 1];
  if (start + max < sorted.length && last !== undefined) {
    out.nextToken = Buffer.from(JSON.stringify({ after: keyOf(last) })).toString('base64url');
  }
  return out;
}

/** Returns a number as a fixed-width string, so keys sort by it. */
export function sortable(n: number): string {
  return String(Math.floor(n)).padStart(16, '0');
}

/**
 * Answers DescribeRepositories the way ECR and ECR Public both do: the named repositories
 * (no paging allowed with names), else one page of all of them.
 */
export async function describeRepositoriesAnswer<V>(
  req: ApiRequest,
  registry: RegistryRecord,
  describe: (repo: RepositoryRecord) => Promise<V>,
): Promise<{ repositories: V[]; nextToken?: string }> {
  const names = list<string>(req.input, 'repositoryNames', { min: 1, max: 100 });
  if (names) {
    if (req.input.maxResults !== undefined || req.input.nextToken !== undefined) {
      throw new ApiError(
        'InvalidParameterException',
        'Invalid parameter: maxResults and nextToken cannot be used with repositoryNames',
      );
    }
    return { repositories: await Promise.all(names.map((n) => describe(requireRepository(registry, n)))) };
  }
  const p = page(Object.values(registry.repositories), (r) => r.name, req.input);
  return {
    repositories: await Promise.all(p.items.map(describe)),
    ...(p.nextToken ? { nextToken: p.nextToken } : {}),
  };
}
