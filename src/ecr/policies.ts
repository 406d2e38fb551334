// Repository and registry policies (get / set / delete) behind one adapter: returns our own
// types and turns "no policy" into undefined or NotFoundError, as the caller asks.
import { NotFoundError } from '../errors.js';
import { awsErrorName, callEcr, type EcrConnection } from './repositories.js';

/** A policy as ECR returns it, with the registry it belongs to. */
export interface StoredPolicy {
  registryId: string;
  /** The repository, for a repository policy. */
  repository?: string;
  text: string;
}

// callEcr wraps the SDK error; its name tells "no policy" from other failures.
const causeName = (err: unknown) => awsErrorName((err as { cause?: unknown } | undefined)?.cause);

function registry(conn: EcrConnection): { registryId?: string } {
  return conn.registryId ? { registryId: conn.registryId } : {};
}

/** Returns the repository policy, or undefined when the repository has none. */
export async function getRepositoryPolicyText(
  conn: EcrConnection,
  repository: string,
): Promise<StoredPolicy | undefined> {
  const { GetRepositoryPolicyCommand } = conn.sdk;
  try {
    const out = await callEcr(conn, 'GetRepositoryPolicy', `repository ${repository}`, () =>
      conn.client.send(new GetRepositoryPolicyCommand({ ...registry(conn), repositoryName: repository })),
    );
    return { registryId: out.registryId ?? '', repository, text: out.policyText ?? '' };
  } catch (err) {
    if (causeName(err) === 'RepositoryPolicyNotFoundException') return undefined;
    throw err;
  }
}

/** Sets the repository policy (text already validated); returns what ECR stored. */
export async function putRepositoryPolicy(
  conn: EcrConnection,
  repository: string,
  text: string,
): Promise<StoredPolicy> {
  const { SetRepositoryPolicyCommand } = conn.sdk;
  const out = await callEcr(conn, 'SetRepositoryPolicy', `repository ${repository}`, () =>
    conn.client.send(
      new SetRepositoryPolicyCommand({ ...registry(conn), repositoryName: repository, policyText: text }),
    ),
  );
  return { registryId: out.registryId ?? '', repository, text: out.policyText ?? text };
}

/** Deletes the repository policy; NotFoundError (exit 6) when there is none. */
export async function deleteRepositoryPolicy(conn: EcrConnection, repository: string): Promise<StoredPolicy> {
  const { DeleteRepositoryPolicyCommand } = conn.sdk;
  const out = await callEcr(conn, 'DeleteRepositoryPolicy', `repository ${repository}`, () =>
    conn.client.send(new DeleteRepositoryPolicyCommand({ ...registry(conn), repositoryName: repository })),
  );
  return { registryId: out.registryId ?? '', repository, text: out.policyText ?? '' };
}

/** Returns the registry policy, or undefined when the registry has none. */
export async function getRegistryPolicyText(conn: EcrConnection): Promise<StoredPolicy | undefined> {
  const { GetRegistryPolicyCommand } = conn.sdk;
  try {
    // GetRegistryPolicy takes no registryId: it always answers for the caller's registry.
    const out = await callEcr(conn, 'GetRegistryPolicy', 'the registry', () =>
      conn.client.send(new GetRegistryPolicyCommand({})),
    );
    return { registryId: out.registryId ?? '', text: out.policyText ?? '' };
  } catch (err) {
    if (causeName(err) === 'RegistryPolicyNotFoundException') return undefined;
    throw err;
  }
}

/** Sets the registry policy (text already validated). */
export async function putRegistryPolicy(conn: EcrConnection, text: string): Promise<StoredPolicy> {
  const { PutRegistryPolicyCommand } = conn.sdk;
  const out = await callEcr(conn, 'PutRegistryPolicy', 'the registry', () =>
    conn.client.send(new PutRegistryPolicyCommand({ policyText: text })),
  );
  return { registryId: out.registryId ?? '', text: out.policyText ?? text };
}

/** Deletes the registry policy; NotFoundError (exit 6) when there is none. */
export async function deleteRegistryPolicy(conn: EcrConnection): Promise<StoredPolicy> {
  const { DeleteRegistryPolicyCommand } = conn.sdk;
  const out = await callEcr(conn, 'DeleteRegistryPolicy', 'the registry', () =>
    conn.client.send(new DeleteRegistryPolicyCommand({})),
  );
  return { registryId: out.registryId ?? '', text: out.policyText ?? '' };
}

/** Returns the error for `policy get` when there is no policy. */
export function noPolicy(what: string, fix: string): NotFoundError {
  return new NotFoundError(`${what} has no policy`, { fix });
}
