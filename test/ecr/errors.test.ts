import { describe, expect, it } from 'vitest';
import { mapAwsError } from '../../src/ecr/errors.js';
import {
  AuthError,
  EcrctlError,
  HttpStatusError,
  NotFoundError,
  RateLimitedError,
  UsageError,
} from '../../src/errors.js';

function sdkError(name: string, message: string, status?: number): Error {
  const e = new Error(message) as Error & { $metadata?: unknown };
  e.name = name;
  if (status !== undefined) e.$metadata = { httpStatusCode: status };
  return e;
}

const call = { operation: 'GetAuthorizationToken', permission: 'ecr:GetAuthorizationToken' };

describe('mapAwsError', () => {
  it.each([
    [
      sdkError('AccessDeniedException', 'User: x is not authorized to perform: ecr:GetAuthorizationToken', 400),
      AuthError,
      'access denied: GetAuthorizationToken needs the IAM permission ecr:GetAuthorizationToken',
    ],
    [
      sdkError('CredentialsProviderError', 'Could not load credentials from any providers'),
      AuthError,
      'no AWS credentials were found',
    ],
    [
      sdkError('UnrecognizedClientException', 'The security token included in the request is invalid.', 400),
      AuthError,
      'AWS rejected the credentials',
    ],
    [
      sdkError('ExpiredTokenException', 'The security token included in the request is expired', 400),
      AuthError,
      'the AWS credentials have expired',
    ],
    [
      sdkError('RepositoryNotFoundException', "The repository with name 'x' does not exist", 400),
      NotFoundError,
      "The repository with name 'x' does not exist",
    ],
    [
      sdkError('ThrottlingException', 'Rate exceeded', 400),
      RateLimitedError,
      'ECR is throttling GetAuthorizationToken requests',
    ],
    [sdkError('InvalidParameterException', 'bad', 400), UsageError, 'GetAuthorizationToken: bad'],
    [sdkError('ServerException', 'oops', 500), HttpStatusError, 'GetAuthorizationToken failed: ServerException: oops'],
  ])('%s', (err, kind, text) => {
    const mapped = mapAwsError(err, call);
    expect(mapped).toBeInstanceOf(kind);
    expect(mapped.message).toContain(text);
  });

  it('names the permission found in the message when the caller did not', () => {
    const mapped = mapAwsError(
      sdkError(
        'AccessDeniedException',
        'User: arn:aws:iam::1:user/a is not authorized to perform: ecr:DescribeRepositories on resource: x',
      ),
      { operation: 'DescribeRepositories' },
    );
    expect(mapped.message).toBe(
      'access denied: DescribeRepositories needs the IAM permission ecr:DescribeRepositories',
    );
    expect(mapped.exitCode).toBe(5);
  });

  it('reports LimitExceededException as the limit it is, not as throttling', () => {
    const mapped = mapAwsError(
      sdkError(
        'LimitExceededException',
        'The maximum number of images in repository app has been reached (10000).',
        400,
      ),
      { operation: 'PutImage', resource: 'image app:v2' },
    );
    expect(mapped).not.toBeInstanceOf(RateLimitedError);
    expect(mapped.message).toBe(
      'PutImage (image app:v2): ECR refused it because a limit was reached: The maximum number of images in repository app has been reached (10000).',
    );
    expect(mapped.fix).toContain('Service Quotas');
    expect(mapped.exitCode).toBe(1);
  });

  it('says which endpoint could not be reached', () => {
    const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const mapped = mapAwsError(e, { ...call, endpoint: 'http://127.0.0.1:9' });
    expect(mapped).toBeInstanceOf(EcrctlError);
    expect(mapped.message).toBe('could not reach http://127.0.0.1:9 for GetAuthorizationToken (ECONNREFUSED)');
  });

  it('passes our own errors through', () => {
    const own = new NotFoundError('x');
    expect(mapAwsError(own, call)).toBe(own);
  });
});
