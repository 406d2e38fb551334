import { describe, expect, it } from 'vitest';
import { isEcrHost, parseEcrHost, privateRegistryHost, registryHostOf } from '../../src/ecr/hosts.js';

describe('parseEcrHost', () => {
  const cases: [string, ReturnType<typeof parseEcrHost>][] = [
    [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      {
        kind: 'private',
        host: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        registryId: '123456789012',
        region: 'us-east-1',
        fips: false,
        dualStack: false,
      },
    ],
    [
      'https://210987654321.dkr.ecr.eu-central-1.amazonaws.com/',
      {
        kind: 'private',
        host: '210987654321.dkr.ecr.eu-central-1.amazonaws.com',
        registryId: '210987654321',
        region: 'eu-central-1',
        fips: false,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
      {
        kind: 'private',
        host: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
        registryId: '123456789012',
        region: 'cn-north-1',
        fips: false,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
      {
        kind: 'private',
        host: '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
        registryId: '123456789012',
        region: 'us-gov-west-1',
        fips: true,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr-ecr.ap-northeast-2.on.aws',
      {
        kind: 'private',
        host: '123456789012.dkr-ecr.ap-northeast-2.on.aws',
        registryId: '123456789012',
        region: 'ap-northeast-2',
        fips: false,
        dualStack: true,
      },
    ],
    [
      '123456789012.DKR.ECR.US-WEST-2.AMAZONAWS.COM:443',
      {
        kind: 'private',
        host: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
        registryId: '123456789012',
        region: 'us-west-2',
        fips: false,
        dualStack: false,
      },
    ],
    ['public.ecr.aws', { kind: 'public', host: 'public.ecr.aws', region: 'us-east-1' }],
    ['https://public.ecr.aws/v2/', { kind: 'public', host: 'public.ecr.aws', region: 'us-east-1' }],
    ['12345678901.dkr.ecr.us-east-1.amazonaws.com', undefined], // 11 digits
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example', undefined],
    ['123456789012.dkr.ecr.us-east-1.example.com', undefined],
    ['docker.io', undefined],
    ['127.0.0.1:5000', undefined],
    ['ecr.aws', undefined],
  ];
  it.each(cases)('%s', (input, expected) => {
    expect(parseEcrHost(input)).toEqual(expected);
    expect(isEcrHost(input)).toBe(expected !== undefined);
  });
});

describe('registryHostOf', () => {
  it.each([
    ['https://127.0.0.1:5000', '127.0.0.1:5000'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
    ['Registry.Example.com/team/app', 'registry.example.com'],
    ['  public.ecr.aws\n', 'public.ecr.aws'],
  ])('%s → %s', (input, host) => {
    expect(registryHostOf(input)).toBe(host);
  });
});

describe('privateRegistryHost', () => {
  it.each([
    ['123456789012', 'us-east-1', {}, '123456789012.dkr.ecr.us-east-1.amazonaws.com'],
    ['123456789012', 'cn-northwest-1', {}, '123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn'],
    ['123456789012', 'us-gov-east-1', { fips: true }, '123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com'],
  ])('%s %s', (id, region, opts, host) => {
    expect(privateRegistryHost(id, region, opts)).toBe(host);
    expect(parseEcrHost(host)).toMatchObject({ registryId: id, region });
  });
});
