// The two error shapes the local endpoint answers with: AWS JSON-protocol exceptions for the
// control plane (`__type` + message, with ECR's HTTP status) and OCI distribution errors for
// the data plane (`{"errors":[{code,message,detail}]}`). Handlers throw these; the listeners
// turn them into responses.

/** An exception of the ECR / ECR Public JSON API, named as ECR names it. */
export class ApiError extends Error {
  readonly type: string;
  readonly status: number;
  /** Further members of the exception structure (e.g. lastValidByteReceived). */
  readonly extra: Record<string, unknown>;
  constructor(type: string, message: string, status = 400, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.type = type;
    this.status = status;
    this.extra = extra;
  }
}

/** An OCI distribution API error (code from the spec's table, or ECR's own). */
export class OciError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;
  constructor(code: string, message: string, status: number, detail?: unknown, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'OciError';
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.headers = headers;
  }
}

/** Returns ECR's InvalidParameterException for a field that breaks a constraint. */
export function invalidParameter(field: string, constraint: string): ApiError {
  return new ApiError(
    'InvalidParameterException',
    `Invalid parameter at '${field}' failed to satisfy constraint: '${constraint}'`,
  );
}

/** Returns ECR's RepositoryNotFoundException for name in registry. */
export function repositoryNotFound(name: string, registryId: string): ApiError {
  return new ApiError(
    'RepositoryNotFoundException',
    `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
  );
}
