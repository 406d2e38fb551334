// The kubelet image credential provider protocol (credentialprovider.kubelet.k8s.io/v1):
// the kubelet writes a CredentialProviderRequest naming one image on the plugin's stdin and
// reads a CredentialProviderResponse with Basic credentials per registry from its stdout.
// `docker-credential-ecrctl kubelet` answers with ECR tokens for ECR hosts and for the hosts
// the project config's `registries:` entries map to an ECR registry.
import type { RegistryToken } from '../ecr/auth.js';
import { UsageError } from '../errors.js';
import type { RegistryRoute } from './registries.js';

/** The API group and versions the kubelet speaks to credential providers. */
export const KUBELET_API_VERSIONS = [
  'credentialprovider.kubelet.k8s.io/v1',
  'credentialprovider.kubelet.k8s.io/v1beta1',
] as const;

/** What the kubelet sends (CredentialProviderRequest). */
export interface CredentialProviderRequest {
  apiVersion: string;
  kind: 'CredentialProviderRequest';
  /** The image being pulled, as the pod names it (`nginx`, `123….dkr.ecr…/app:v1`). */
  image: string;
  /** Sent only when the provider config asks for a service account token (not used here). */
  serviceAccountToken?: string;
  serviceAccountAnnotations?: Record<string, string>;
}

/** What the kubelet reads back (CredentialProviderResponse). */
export interface CredentialProviderResponse {
  apiVersion: string;
  kind: 'CredentialProviderResponse';
  /** Per registry: the same token serves every image of the registry. */
  cacheKeyType: 'Image' | 'Registry' | 'Global';
  /** How long the kubelet may keep the credentials (a Go duration, e.g. `5h59m0s`). */
  cacheDuration?: string;
  /** Required by the kubelet when the request carried a service account token. */
  serviceAccountTokenCacheType?: 'ServiceAccount' | 'Pod';
  /** Registry match key → Basic credentials; empty when this plugin has none for the image. */
  auth: Record<string, { username: string; password: string }>;
}

/** Returns the request the kubelet sent, or throws UsageError naming what is wrong with it. */
export function parseCredentialProviderRequest(text: string): CredentialProviderRequest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the CredentialProviderRequest on stdin is not JSON: ${(err as Error).message}`, {
      rule: 'the kubelet writes one CredentialProviderRequest as JSON on stdin',
      fix: 'run this only as a kubelet image credential provider (see `docker-credential-ecrctl help`)',
    });
  }
  const r = data as Partial<CredentialProviderRequest> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw new UsageError('the CredentialProviderRequest on stdin is not a JSON object', { value: text.slice(0, 80) });
  }
  if (!(KUBELET_API_VERSIONS as readonly string[]).includes(String(r.apiVersion))) {
    throw new UsageError(`unsupported apiVersion ${JSON.stringify(r.apiVersion)} in the CredentialProviderRequest`, {
      value: String(r.apiVersion),
      fix: `set apiVersion: ${KUBELET_API_VERSIONS[0]} in the kubelet's CredentialProviderConfig`,
    });
  }
  if (r.kind !== 'CredentialProviderRequest') {
    throw new UsageError(`expected kind CredentialProviderRequest, got ${JSON.stringify(r.kind)}`, {
      value: String(r.kind),
    });
  }
  if (typeof r.image !== 'string' || r.image.trim() === '') {
    throw new UsageError('the CredentialProviderRequest names no image', { value: JSON.stringify(r.image) });
  }
  return r as CredentialProviderRequest;
}

/**
 * Returns the registry host of an image reference as the kubelet resolves it: the first path
 * part when it looks like a host (has a `.` or `:`, or is `localhost`), else Docker Hub.
 */
export function imageRegistryHost(image: string): string {
  const name = image.replace(/^[a-z]+:\/\//i, '');
  const slash = name.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = name.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first.toLowerCase() : 'docker.io';
}

/** Returns a duration as the kubelet's metav1.Duration reads it (Go's `1h2m3s` form). */
export function goDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s === 0) return '0s';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${rest}s`;
}

/**
 * Returns the CredentialProviderResponse for a request: the token of the ECR registry that
 * answers for the image's host, keyed by that host, cached by the kubelet for half the
 * token's remaining lifetime (so it is refreshed well before ECR stops taking it); for a host
 * no ECR registry answers for, an empty `auth` (the kubelet then pulls without credentials
 * from this plugin).
 */
export async function kubeletCredentials(
  request: CredentialProviderRequest,
  deps: {
    /** Returns the route of a registry host (see routeFor), or undefined. */
    route(host: string): Promise<RegistryRoute | undefined>;
    /** Returns the token for a route. */
    token(route: RegistryRoute): Promise<RegistryToken>;
    now?: () => number;
  },
): Promise<CredentialProviderResponse> {
  const response: CredentialProviderResponse = {
    apiVersion: request.apiVersion,
    kind: 'CredentialProviderResponse',
    cacheKeyType: 'Registry',
    auth: {},
  };
  if (request.serviceAccountToken) response.serviceAccountTokenCacheType = 'ServiceAccount';
  const host = imageRegistryHost(request.image);
  const route = await deps.route(host);
  if (!route) return response;
  const token = await deps.token(route);
  const now = (deps.now ?? Date.now)();
  response.cacheDuration = goDuration((token.expiresAt.getTime() - now) / 2000);
  response.auth[host] = { username: token.username, password: token.password };
  return response;
}
