// The --debug trace's redaction: credentials in headers and presigned URLs never printed.
import { describe, expect, it } from 'vitest';
import { formatTrace, redactHeader, redactUrl, traceEnabled } from '../../../src/oci/transport/trace.js';

describe('trace redaction', () => {
  it('redacts presigned query values and userinfo, keeping the rest of the URL', () => {
    const url =
      'https://bucket.s3.amazonaws.com/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=deadbeef&X-Amz-Security-Token=FwoG&X-Amz-Expires=600';
    expect(redactUrl(url)).toBe(
      'https://bucket.s3.amazonaws.com/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***&X-Amz-Expires=600',
    );
    expect(redactUrl('https://user:pw@host/token?service=x&access_token=abc')).toBe(
      'https://***@host/token?service=x&access_token=***',
    );
    expect(redactUrl('http://127.0.0.1:5000/v2/app/manifests/v1')).toBe('http://127.0.0.1:5000/v2/app/manifests/v1');
  });

  it('keeps the scheme of Authorization and hides every credential header', () => {
    expect(redactHeader('Authorization', 'Bearer eyJhbGciOi')).toBe('Bearer ***');
    expect(redactHeader('authorization', 'AWS4-HMAC-SHA256 Credential=AKID/…, Signature=abc')).toBe(
      'AWS4-HMAC-SHA256 ***',
    );
    expect(redactHeader('Cookie', 'session=1')).toBe('***');
    expect(redactHeader('X-Amz-Security-Token', 'FwoG')).toBe('***');
    expect(redactHeader('Location', 'https://s3/x?X-Amz-Signature=abc')).toBe('https://s3/x?X-Amz-Signature=***');
    expect(redactHeader('content-type', 'application/json')).toBe('application/json');
  });

  it('formats one summary line and sorted header lines', () => {
    const text = formatTrace({
      via: 'registry',
      method: 'GET',
      url: 'http://h/v2/?token=sekret',
      status: 200,
      ms: 3.4,
      requestHeaders: { 'user-agent': 'ecrctl', authorization: 'Basic QVdTOnNla3JldA==' },
      responseHeaders: { 'set-cookie': ['a=1', 'b=2'] },
    });
    expect(text.split('\n')).toEqual([
      'http: registry GET http://h/v2/?token=*** -> 200 in 3 ms',
      'http:   > authorization: Basic ***',
      'http:   > user-agent: ecrctl',
      'http:   < set-cookie: ***',
      'http:   < set-cookie: ***',
    ]);
    expect(
      formatTrace({
        via: 'registry',
        method: 'HEAD',
        url: 'http://h/',
        ms: 1,
        requestHeaders: {},
        error: 'ECONNREFUSED',
      }),
    ).toBe('http: registry HEAD http://h/ -> failed (ECONNREFUSED) in 1 ms');
  });

  it('is on for ECRCTL_DEBUG=1 and off for 0, false or unset', () => {
    expect(traceEnabled({ ECRCTL_DEBUG: '1' })).toBe(true);
    expect(traceEnabled({ ECRCTL_DEBUG: '0' })).toBe(false);
    expect(traceEnabled({ ECRCTL_DEBUG: 'false' })).toBe(false);
    expect(traceEnabled({})).toBe(false);
  });
});
