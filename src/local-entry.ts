// `ecrctl/local`: the ECR emulator of `ecrctl local serve`, started in-process from a test
// suite or a script. It prints nothing, leaves process.env and signal handling alone, and
// stops with close().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalServer } from './local/server.js';

/** How to start the emulator; every field is optional. */
export interface StartLocalOptions {
  /**
   * The data directory: repositories, images and settings live here and survive a restart
   * on the same directory. It is created when missing and kept on close(). Relative paths
   * resolve against the current working directory. Default: a fresh temporary directory,
   * removed on close().
   */
  data?: string;
  /** The port of the ECR API endpoint. Default 0: a free port the system picks. */
  port?: number;
  /** The 12-digit account id of the default registry. Default `123456789012`. */
  account?: string;
  /**
   * The region whose registry `registryHost` names. The API endpoint serves every region:
   * a client's region is the one its requests are signed for. Default `us-east-1`.
   */
  region?: string;
  /**
   * The loopback address to listen on and to name in the URLs: an address in 127.0.0.0/8,
   * `::1` or `localhost`. Default `127.0.0.1`. The emulator accepts any credentials, so it
   * never listens beyond this machine.
   */
  host?: string;
  /**
   * How long the passwords GetAuthorizationToken hands out stay valid: seconds, or a
   * duration such as `30s`, `10m`, `1h`. Default 12 hours, as on ECR. Short lifetimes let a
   * test make a token expire mid-transfer; the data plane then answers 403 DENIED as ECR does.
   */
  tokenTtl?: number | string;
  /**
   * Serve HTTPS on every listener, as ECR does. A CA is made in `<data>/tls/ca.crt` (see
   * `caFile`): give it to ecrctl (`createSession({ env: { AWS_CA_BUNDLE } })`, `--ca-file`),
   * to SDK clients (an https.Agent with `ca`), or to skopeo (`--cert-dir`). Default false.
   */
  tls?: boolean;
  /**
   * ECR's API request rates: 1 (default) as ECR, a factor that scales every rate, or 'off'
   * (no throttling; a leniency for tests that write faster than ECR allows).
   */
  throttleScale?: number | 'off';
  /**
   * How long ECR's asynchronous states last before their outcome shows, as a factor of
   * ECR-like durations: scans and lifecycle previews 5 s, replication 10 s, backfills 30 s,
   * restores from the archive storage class 20 minutes (ACTIVATING). Default 1; 0 makes
   * every outcome show on the first read (a leniency); 0.01 is a hundred times faster.
   */
  stateDelayScale?: number;
}

/** A running emulator. */
export interface LocalEmulator {
  /**
   * The ECR (and ECR Public) API endpoint, `http://127.0.0.1:PORT`: give it to an SDK client
   * as `endpoint`, to `createSession({ endpointUrl })`, or to the AWS CLI as `--endpoint-url`.
   */
  readonly endpoint: string;
  /**
   * The data-plane host of the default registry, `127.0.0.1:PORT`: where images are pushed
   * and pulled (`127.0.0.1:PORT/REPO:TAG`), over plain HTTP. It is the host of the
   * `proxyEndpoint` GetAuthorizationToken returns for `account` in `region`.
   */
  readonly registryHost: string;
  /** The account id of the default registry. */
  readonly account: string;
  /** The region `registryHost` belongs to. */
  readonly region: string;
  /** The data directory in use (the temporary one when no `data` was given). */
  readonly data: string;
  /** With `tls`: the CA certificate (PEM) clients must trust; undefined otherwise. */
  readonly caFile: string | undefined;
  /**
   * Stops every listener, releases the data directory, and removes it when it was a
   * temporary one. Calling it again does nothing.
   */
  close(): Promise<void>;
}

const DEFAULT_REGION = 'us-east-1';
const REGION = /^[a-z0-9-]{2,25}$/;

/**
 * Starts the ECR emulator (`ecrctl local serve`) in this process: the ECR and ECR Public
 * APIs on one loopback port, and an OCI registry per region, the one GetAuthorizationToken
 * points clients at. It is as strict as ECR where ECR's behaviour is known: naming rules,
 * tag immutability, lifecycle policies, replication, scanning.
 *
 * Credentials are not checked: any access key signs requests, and the region a client
 * signs for picks the registry. Resolves once the endpoint listens.
 *
 * @example
 * ```ts
 * import { startLocal } from 'ecrctl/local';
 * import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
 *
 * const ecr = await startLocal();
 * try {
 *   const client = new ECRClient({
 *     endpoint: ecr.endpoint,
 *     region: ecr.region,
 *     credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
 *   });
 *   await client.send(new CreateRepositoryCommand({ repositoryName: 'team/app' }));
 *   // push to `${ecr.registryHost}/team/app:v1` with the token GetAuthorizationToken returns
 * } finally {
 *   await ecr.close();
 * }
 * ```
 *
 * @throws when the port is taken or invalid, the account is not 12 digits, the host is not
 * a loopback address, or the data directory is in use by another running emulator.
 */
export async function startLocal(options: StartLocalOptions = {}): Promise<LocalEmulator> {
  const region = options.region ?? DEFAULT_REGION;
  if (!REGION.test(region)) throw new TypeError(`region must look like us-east-1, got '${region}'`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const tokenTtlSeconds = options.tokenTtl === undefined ? undefined : ttlSeconds(options.tokenTtl);
  const temporary = options.data === undefined;
  const data = temporary ? await mkdtemp(path.join(tmpdir(), 'ecrctl-local-')) : path.resolve(options.data!);
  const discard = () => (temporary ? rm(data, { recursive: true, force: true }) : Promise.resolve());

  let server: Awaited<ReturnType<typeof startLocalServer>>;
  try {
    server = await startLocalServer({
      dataDir: data,
      port,
      ...(options.account !== undefined ? { account: options.account } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(tokenTtlSeconds !== undefined ? { tokenTtlSeconds } : {}),
      ...(options.tls ? { tls: true } : {}),
      ...(options.throttleScale !== undefined ? { throttleScale: options.throttleScale } : {}),
      ...(options.stateDelayScale !== undefined ? { stateDelayScale: options.stateDelayScale } : {}),
    });
  } catch (err) {
    await discard();
    throw err;
  }
  let registryHost: string;
  try {
    registryHost = new URL(await server.registryEndpoint(region)).host;
  } catch (err) {
    await server.close();
    await discard();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    endpoint: server.url,
    registryHost,
    account: server.account,
    region,
    data,
    caFile: server.tls?.caFile,
    close() {
      closing ??= (async () => {
        await server.close();
        await discard();
      })();
      return closing;
    },
  };
}

const TTL_UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Returns the seconds of a tokenTtl (a number of seconds, or `30s` / `10m` / `1h`). */
function ttlSeconds(value: number | string): number {
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim()) : undefined;
  const seconds =
    typeof value === 'number' ? value : m ? Number(m[1]) * (TTL_UNIT_SECONDS[m[2] ?? 's'] as number) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < 1) {
    throw new TypeError(
      `tokenTtl must be at least 1 second: a number of seconds or a duration (e.g. 30s, 10m, 1h), got ${JSON.stringify(value)}`,
    );
  }
  return seconds;
}
