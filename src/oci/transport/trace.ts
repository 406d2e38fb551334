// The --debug HTTP trace: one line per request (method, URL, status, time) and its headers,
// with every credential taken out first. Shared by the registry transport and the ECR API
// clients' SDK middleware, so both redact the same way. Nothing here prints.

/** Whether an environment asks for the HTTP trace (ECRCTL_DEBUG, which `--debug` sets). */
export function traceEnabled(env: NodeJS.ProcessEnv | undefined): boolean {
  const v = env?.ECRCTL_DEBUG;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** Headers whose whole value is a credential. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-credential',
  'x-registry-auth',
  'x-docker-token',
]);

/** Query parameters that carry a credential (presigned S3/ECR layer URLs, token requests). */
const SECRET_QUERY =
  /^(x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|access_token|refresh_token|password|awsaccesskeyid|key-pair-id|policy)$/i;

/** Returns a URL with the values of credential-carrying query parameters replaced by `***`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return stripUserinfo(url);
  const head = stripUserinfo(url.slice(0, q));
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name);
      } catch {
        // A malformed name is compared as written.
      }
      return SECRET_QUERY.test(name) ? `${pair.slice(0, eq)}=***` : pair;
    })
    .join('&');
  return `${head}?${query}`;
}

function stripUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

/** Returns a header value fit to print: credentials become `***` (the scheme word is kept). */
export function redactHeader(name: string, value: string): string {
  const n = name.toLowerCase();
  if (n === 'authorization' || n === 'proxy-authorization') {
    const sp = value.indexOf(' ');
    // `Bearer ***`, `Basic ***`, `AWS4-HMAC-SHA256 ***`: the scheme says which auth went out.
    return sp > 0 ? `${value.slice(0, sp)} ***` : '***';
  }
  if (SECRET_HEADERS.has(n)) return '***';
  if (n === 'location' || n === 'content-location') return redactUrl(value);
  return value;
}

/** One traced request: what went out, what came back and how long it took. */
export interface HttpTraceEntry {
  method: string;
  url: string;
  /** The response status; undefined when no response came (the error says why). */
  status?: number;
  ms: number;
  requestHeaders: Record<string, string | string[] | undefined>;
  responseHeaders?: Record<string, string | string[] | undefined>;
  error?: string;
  /** Who sent it: `registry` or `ECR API`. */
  via: string;
}

/** Returns the trace lines for one request: a summary line, then `> ` and `< ` header lines. */
export function formatTrace(e: HttpTraceEntry): string {
  const outcome = e.status !== undefined ? String(e.status) : `failed (${e.error ?? 'no response'})`;
  const lines = [`http: ${e.via} ${e.method} ${redactUrl(e.url)} -> ${outcome} in ${Math.round(e.ms)} ms`];
  const add = (mark: string, headers: HttpTraceEntry['requestHeaders'] | undefined) => {
    for (const [name, raw] of Object.entries(headers ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      if (raw === undefined) continue;
      for (const v of Array.isArray(raw) ? raw : [raw])
        lines.push(`http:   ${mark} ${name}: ${redactHeader(name, String(v))}`);
    }
  };
  add('>', e.requestHeaders);
  add('<', e.responseHeaders);
  return lines.join('\n');
}
