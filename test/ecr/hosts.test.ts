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
        partition: 'aws',
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
        partition: 'aws',
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
        partition: 'aws-cn',
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
        partition: 'aws-us-gov',
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
        partition: 'aws',
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
        partition: 'aws',
        fips: false,
        dualStack: false,
      },
    ],
    ['public.ecr.aws', { kind: 'public', host: 'public.ecr.aws', region: 'us-east-1', dualStack: false }],
    ['https://public.ecr.aws/v2/', { kind: 'public', host: 'public.ecr.aws', region: 'us-east-1', dualStack: false }],
    ['12345678901.dkr.ecr.us-east-1.amazonaws.com', undefined], // 11 digits
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example', undefined],
    ['123456789012.dkr.ecr.us-east-1.example.com', undefined],
    ['docker.io', undefined],
    ['127.0.0.1:5000', undefined],
    ['ecr.aws', undefined],
    // A partition's suffix belongs to its regions only, and dual-stack suffixes to dkr-ecr.
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com', undefined],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com.cn', undefined],
    ['123456789012.dkr.ecr.us-east-1.on.aws', undefined],
    ['123456789012.dkr-ecr.us-east-1.amazonaws.com', undefined],
    ['123456789012.dkr.ecr.eusc-de-east-1.amazonaws.com', undefined],
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

describe('every ECR host form: account, region, partition, FIPS, dual-stack', () => {
  // [region, partition, IPv4 suffix, dual-stack suffix]
  const partitions: [string, string, string, string][] = [
    ['us-east-1', 'aws', 'amazonaws.com', 'on.aws'],
    ['eu-central-2', 'aws', 'amazonaws.com', 'on.aws'],
    ['us-gov-west-1', 'aws-us-gov', 'amazonaws.com', 'on.aws'],
    ['cn-northwest-1', 'aws-cn', 'amazonaws.com.cn', 'on.amazonwebservices.com.cn'],
    ['eusc-de-east-1', 'aws-eusc', 'amazonaws.eu', 'on.amazonwebservices.eu'],
    ['us-iso-east-1', 'aws-iso', 'c2s.ic.gov', 'on.aws.ic.gov'],
    ['us-isob-east-1', 'aws-iso-b', 'sc2s.sgov.gov', 'on.aws.scloud'],
    ['eu-isoe-west-1', 'aws-iso-e', 'cloud.adc-e.uk', 'on.cloud-aws.adc-e.uk'],
    ['us-isof-south-1', 'aws-iso-f', 'csp.hci.ic.gov', 'on.aws.hci.ic.gov'],
  ];
  const rows = partitions.flatMap(([region, partition, suffix, dualSuffix]) =>
    [false, true].flatMap((fips) =>
      [false, true].map((dualStack) => ({
        region,
        partition,
        fips,
        dualStack,
        host: `210987654321.${dualStack ? 'dkr-ecr' : 'dkr.ecr'}${fips ? '-fips' : ''}.${region}.${dualStack ? dualSuffix : suffix}`,
      })),
    ),
  );
  it.each(rows)('$host', ({ host, region, partition, fips, dualStack }) => {
    expect(parseEcrHost(host)).toEqual({
      kind: 'private',
      host,
      registryId: '210987654321',
      region,
      partition,
      fips,
      dualStack,
    });
    expect(privateRegistryHost('210987654321', region, { fips, dualStack })).toBe(host);
    expect(parseEcrHost(`https://${host.toUpperCase()}:443/v2/`)).toMatchObject({ host, region, dualStack });
  });

  it('knows ECR Public under both its names', () => {
    expect(parseEcrHost('ecr-public.aws.com')).toEqual({
      kind: 'public',
      host: 'ecr-public.aws.com',
      region: 'us-east-1',
      dualStack: true,
    });
    expect(parseEcrHost('public.ecr.aws')).toMatchObject({ kind: 'public', dualStack: false });
  });
});
