// What every handler of the local endpoint shares: the store, the clock, the default
// account, the token lifetime, upload sessions and the way to reach a registry's data plane.
import type { Hash } from 'node:crypto';
import type { RegistryRecord, RepositoryRecord, Store } from './store.js';

/** An open blob upload (data-plane session or InitiateLayerUpload). */
export interface UploadSession {
  id: string;
  registry: RegistryRecord;
  repository: string;
  /** Bytes received so far. */
  size: number;
  hash: Hash;
  /** Size of the last UploadLayerPart part (ECR's minimum applies to all parts but the last). */
  lastPartSize?: number;
  /** A data-plane request is writing to the file right now. */
  busy?: boolean;
  startedAt: number;
}

export interface LocalContext {
  readonly store: Store;
  /** The account used when a request names no registryId. */
  readonly account: string;
  readonly tokenTtlMs: number;
  readonly uploads: Map<string, UploadSession>;
  /** Operations called, in order (`ecr:PutImage`, `ecr-public:CreateRepository`, …). */
  readonly calls: string[];
  now(): number;
  log(line: string): void;
  /** Returns the data-plane URL (http://127.0.0.1:PORT) of a registry, starting it on first use. */
  registryEndpoint(registry: RegistryRecord): Promise<string>;
}

/** Returns the repository, or undefined. */
export function findRepository(registry: RegistryRecord, name: string): RepositoryRecord | undefined {
  return Object.hasOwn(registry.repositories, name) ? registry.repositories[name] : undefined;
}
