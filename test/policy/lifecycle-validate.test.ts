import { describe, expect, it } from 'vitest';
import { parseLifecyclePolicy } from '../../src/policy/lifecycle/index.js';
import { formatProblem } from '../../src/policy/lifecycle/report.js';

const text = (rules: unknown[]) => JSON.stringify({ rules }, null, 2);

// Rules shaped like the ones in the ECR user guide ("Examples of lifecycle policies"), restated
// here as fixtures. Each must validate cleanly.
const USER_GUIDE_POLICIES: { name: string; rules: unknown[] }[] = [
  {
    name: 'expire prod* images older than 14 days (filtering on image age)',
    rules: [
      {
        rulePriority: 1,
        description: 'Expire images older than 14 days',
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['prod*'],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 14,
        },
        action: { type: 'expire' },
      },
    ],
  },
  {
    name: 'keep one untagged image (filtering on image count)',
    rules: [
      {
        rulePriority: 1,
        description: 'Keep only one untagged image, expire all others',
        selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
        action: { type: 'expire' },
      },
    ],
  },
  {
    name: 'two count rules by prefix (filtering on multiple rules)',
    rules: [
      {
        rulePriority: 1,
        description: 'Rule 1',
        selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 1 },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: 'Rule 2',
        selection: { tagStatus: 'tagged', tagPrefixList: ['beta'], countType: 'imageCountMoreThan', countNumber: 1 },
        action: { type: 'expire' },
      },
    ],
  },
  {
    name: 'several patterns in one rule (filtering on multiple tags in a single rule)',
    rules: [
      {
        rulePriority: 1,
        description: 'Rule 1',
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['alpha*', 'beta*'],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 5,
        },
        action: { type: 'expire' },
      },
    ],
  },
  {
    name: 'tagged, untagged and a final any rule (filtering on all images)',
    rules: [
      {
        rulePriority: 1,
        description: 'Rule 1',
        selection: { tagStatus: 'tagged', tagPatternList: ['alpha*'], countType: 'imageCountMoreThan', countNumber: 1 },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: 'Rule 2',
        selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 },
        action: { type: 'expire' },
      },
      {
        rulePriority: 3,
        description: 'Rule 3',
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
        action: { type: 'expire' },
      },
    ],
  },
  {
    name: 'the wildcard example from the properties page (4 wildcards is the limit)',
    rules: [
      {
        rulePriority: 1,
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['*test*1*2*3', 'test*1*2*3*'],
          countType: 'imageCountMoreThan',
          countNumber: 3,
        },
        action: { type: 'expire' },
      },
    ],
  },
  {
    name: 'archive unpulled images, expire archived ones a year later (storage classes)',
    rules: [
      {
        rulePriority: 1,
        description: 'Archive images not pulled for 90 days',
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['*'],
          countType: 'sinceImagePulled',
          countUnit: 'days',
          countNumber: 90,
        },
        action: { type: 'transition', targetStorageClass: 'archive' },
      },
      {
        rulePriority: 2,
        description: 'Expire archived images 365 days after archiving',
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['*'],
          storageClass: 'archive',
          countType: 'sinceImageTransitioned',
          countUnit: 'days',
          countNumber: 365,
        },
        action: { type: 'expire' },
      },
    ],
  },
];

describe('parseLifecyclePolicy: user guide examples', () => {
  it.each(USER_GUIDE_POLICIES)('$name is valid', ({ rules }) => {
    const r = parseLifecyclePolicy(text(rules));
    expect(r.problems).toEqual([]);
    expect(r.policy?.rules).toEqual(rules);
  });

  it('accepts the compact one-line form the guide prints', () => {
    const compact = JSON.stringify({ rules: USER_GUIDE_POLICIES[1]!.rules });
    expect(parseLifecyclePolicy(compact).problems).toEqual([]);
  });
});

const good = {
  rulePriority: 1,
  selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'imageCountMoreThan', countNumber: 5 },
  action: { type: 'expire' },
};
const withSelection = (selection: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ...good,
  selection: { ...good.selection, ...selection },
  ...extra,
});
const omit = <T extends Record<string, unknown>>(o: T, ...keys: string[]) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

interface Expect {
  ruleIndex?: number;
  rulePriority?: number;
  field: string;
  message: RegExp;
}

const CASES: { name: string; rules: unknown[]; expect: Expect[] }[] = [
  {
    name: 'unknown field in a rule (with a suggestion)',
    rules: [{ ...good, priority: 2 }],
    expect: [{ ruleIndex: 0, rulePriority: 1, field: 'priority', message: /unknown field "priority"/ }],
  },
  {
    name: 'misspelt selection field',
    rules: [withSelection({ countNumbr: 3 })],
    expect: [{ ruleIndex: 0, field: 'selection.countNumbr', message: /unknown field/ }],
  },
  {
    name: 'null field',
    rules: [withSelection({ countUnit: null })],
    expect: [{ ruleIndex: 0, field: 'selection.countUnit', message: /null/ }],
  },
  {
    name: 'missing rulePriority',
    rules: [omit(good, 'rulePriority')],
    expect: [{ ruleIndex: 0, field: 'rulePriority', message: /no rulePriority/ }],
  },
  {
    name: 'rulePriority 0',
    rules: [{ ...good, rulePriority: 0 }],
    expect: [{ ruleIndex: 0, field: 'rulePriority', message: /positive integer/ }],
  },
  {
    name: 'rulePriority 1.5',
    rules: [{ ...good, rulePriority: 1.5 }],
    expect: [{ ruleIndex: 0, field: 'rulePriority', message: /positive integer/ }],
  },
  {
    name: 'rulePriority as a string',
    rules: [{ ...good, rulePriority: '1' }],
    expect: [{ ruleIndex: 0, field: 'rulePriority', message: /positive integer, not the string "1"/ }],
  },
  {
    name: 'duplicate rulePriority',
    rules: [good, withSelection({ tagPatternList: ['beta*'] })],
    expect: [{ ruleIndex: 1, rulePriority: 1, field: 'rulePriority', message: /already used by rules\[0\]/ }],
  },
  {
    name: 'tagged without a list',
    rules: [withSelection({ tagPatternList: undefined })],
    expect: [{ ruleIndex: 0, field: 'selection.tagPatternList', message: /needs a tagPatternList or a tagPrefixList/ }],
  },
  {
    name: 'tagged with both lists',
    rules: [withSelection({ tagPrefixList: ['prod'] })],
    expect: [{ ruleIndex: 0, field: 'selection.tagPatternList', message: /not both/ }],
  },
  {
    name: 'untagged with a list',
    rules: [withSelection({ tagStatus: 'untagged' })],
    expect: [{ ruleIndex: 0, field: 'selection.tagPatternList', message: /"untagged" takes no tagPatternList/ }],
  },
  {
    name: 'any with a prefix list',
    rules: [withSelection({ tagStatus: 'any', tagPatternList: undefined, tagPrefixList: ['x'] })],
    expect: [{ ruleIndex: 0, field: 'selection.tagPrefixList', message: /"any" takes no tagPrefixList/ }],
  },
  {
    name: 'unknown tagStatus',
    rules: [withSelection({ tagStatus: 'TAGGED' })],
    expect: [{ ruleIndex: 0, field: 'selection.tagStatus', message: /must be "tagged", "untagged" or "any"/ }],
  },
  {
    name: 'empty pattern list',
    rules: [withSelection({ tagPatternList: [] })],
    expect: [{ ruleIndex: 0, field: 'selection.tagPatternList', message: /empty/ }],
  },
  {
    name: 'five wildcards',
    rules: [withSelection({ tagPatternList: ['ok*', 'test*1*2*3*4*5*6'] })],
    expect: [{ ruleIndex: 0, field: 'selection.tagPatternList[1]', message: /6 wildcards; ECR allows at most 4/ }],
  },
  {
    name: 'any rule not last',
    rules: [
      { ...good, rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 } },
      { ...good, rulePriority: 2 },
    ],
    expect: [
      {
        ruleIndex: 0,
        rulePriority: 1,
        field: 'rulePriority',
        message: /"any" must have the highest rulePriority, but rules\[1\] has 2/,
      },
    ],
  },
  {
    name: 'two untagged rules in standard storage',
    rules: [
      {
        ...good,
        rulePriority: 1,
        selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
      },
      {
        ...good,
        rulePriority: 2,
        selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 },
      },
    ],
    expect: [
      {
        ruleIndex: 1,
        rulePriority: 2,
        field: 'selection.tagStatus',
        message: /only one rule may select untagged images in standard storage/,
      },
    ],
  },
  {
    name: 'untagged rules in different storage classes are fine',
    rules: [
      {
        ...good,
        rulePriority: 1,
        selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
      },
      {
        ...good,
        rulePriority: 2,
        selection: {
          tagStatus: 'untagged',
          storageClass: 'archive',
          countType: 'sinceImageTransitioned',
          countUnit: 'days',
          countNumber: 90,
        },
      },
    ],
    expect: [],
  },
  {
    name: 'expiring archived images before the 90-day minimum',
    rules: [
      {
        ...good,
        selection: {
          tagStatus: 'any',
          storageClass: 'archive',
          countType: 'sinceImageTransitioned',
          countUnit: 'days',
          countNumber: 30,
        },
      },
    ],
    expect: [{ ruleIndex: 0, field: 'selection.countNumber', message: /minimum storage duration of 90 days/ }],
  },
  {
    name: 'imageCountMoreThan with countUnit',
    rules: [withSelection({ countUnit: 'days' })],
    expect: [{ ruleIndex: 0, field: 'selection.countUnit', message: /takes no countUnit/ }],
  },
  {
    name: 'sinceImagePushed without countUnit',
    rules: [withSelection({ countType: 'sinceImagePushed' })],
    expect: [{ ruleIndex: 0, field: 'selection.countUnit', message: /needs "countUnit": "days"/ }],
  },
  {
    name: 'countUnit hours',
    rules: [withSelection({ countType: 'sinceImagePushed', countUnit: 'hours' })],
    expect: [{ ruleIndex: 0, field: 'selection.countUnit', message: /must be "days"/ }],
  },
  {
    name: 'sinceImagePulled with expire',
    rules: [withSelection({ countType: 'sinceImagePulled', countUnit: 'days' })],
    expect: [
      { ruleIndex: 0, field: 'selection.countType', message: /"sinceImagePulled" works only with a transition/ },
    ],
  },
  {
    name: 'sinceImageTransitioned with transition, in standard storage',
    rules: [
      withSelection(
        { countType: 'sinceImageTransitioned', countUnit: 'days' },
        { action: { type: 'transition', targetStorageClass: 'archive' } },
      ),
    ],
    expect: [
      { ruleIndex: 0, field: 'selection.countType', message: /works only with an expire action/ },
      { ruleIndex: 0, field: 'selection.storageClass', message: /needs "storageClass": "archive"/ },
    ],
  },
  {
    name: 'countNumber 0',
    rules: [withSelection({ countNumber: 0 })],
    expect: [{ ruleIndex: 0, field: 'selection.countNumber', message: /at least 1/ }],
  },
  {
    name: 'countNumber 2.5',
    rules: [withSelection({ countNumber: 2.5 })],
    expect: [{ ruleIndex: 0, field: 'selection.countNumber', message: /integer/ }],
  },
  {
    name: 'transition without target',
    rules: [{ ...withSelection({ countType: 'sinceImagePulled', countUnit: 'days' }), action: { type: 'transition' } }],
    expect: [{ ruleIndex: 0, field: 'action.targetStorageClass', message: /needs a targetStorageClass/ }],
  },
  {
    name: 'expire with a target',
    rules: [{ ...good, action: { type: 'expire', targetStorageClass: 'archive' } }],
    expect: [
      { ruleIndex: 0, field: 'action.targetStorageClass', message: /expire action takes no targetStorageClass/ },
    ],
  },
  {
    name: 'unknown action type',
    rules: [{ ...good, action: { type: 'delete' } }],
    expect: [{ ruleIndex: 0, field: 'action.type', message: /"expire" or "transition"/ }],
  },
  {
    name: 'missing selection and action',
    rules: [
      { rulePriority: 1, description: 'a rule that forgot everything else, long enough to pass the length check' },
    ],
    expect: [
      { ruleIndex: 0, field: 'selection', message: /no selection/ },
      { ruleIndex: 0, field: 'action', message: /no action/ },
    ],
  },
  {
    name: 'rule that is not an object',
    rules: ['expire everything please: this is a string and not a rule object at all, so ECR has nothing to read here'],
    expect: [{ ruleIndex: 0, field: undefined as unknown as string, message: /must be a JSON object/ }],
  },
];

describe('parseLifecyclePolicy: problems', () => {
  it.each(CASES)('$name', ({ rules, expect: expected }) => {
    const r = parseLifecyclePolicy(text(rules));
    const got = r.problems.map((p) => ({ ruleIndex: p.ruleIndex, field: p.field }));
    expect(got).toEqual(expected.map((e) => ({ ruleIndex: e.ruleIndex, field: e.field })));
    r.problems.forEach((p, i) => {
      const e = expected[i]!;
      expect(p.message).toMatch(e.message);
      if (e.rulePriority !== undefined) expect(p.rulePriority).toBe(e.rulePriority);
      expect(p.fix, 'every problem carries a fix').toBeTruthy();
      expect(p.line, 'every problem points at a line').toBeGreaterThan(0);
    });
    expect(r.policy === undefined).toBe(expected.length > 0);
  });

  it('reports every problem of every rule at once', () => {
    const r = parseLifecyclePolicy(
      text([
        { ...good, rulePriority: 0, colour: 'red' },
        withSelection({ countUnit: 'days', tagPatternList: ['a*b*c*d*e*f'] }, { rulePriority: 2 }),
        { ...good, rulePriority: 3, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countNumber: -1 } },
        { ...good, rulePriority: 5 },
        withSelection({ tagPatternList: ['beta*'] }, { rulePriority: 2 }),
      ]),
    );
    expect(r.problems.map((p) => `${p.ruleIndex} ${p.field}`)).toEqual([
      '0 colour',
      '0 rulePriority',
      '1 selection.tagPatternList[0]',
      '1 selection.countUnit',
      '2 selection.countUnit',
      '2 selection.countNumber',
      '2 selection.countType',
      '4 rulePriority',
      '2 rulePriority',
    ]);
  });

  it('points at the line and column of the offending value', () => {
    const policy =
      '{\n  "rules": [\n    {\n      "rulePriority": 1,\n      "selection": {\n        "tagStatus": "tagged",\n        "tagPatternList": ["prod*"],\n        "countType": "imageCountMoreThan",\n        "countUnit": "days",\n        "countNumber": 5\n      },\n      "action": { "type": "expire" }\n    }\n  ]\n}\n';
    const [p] = parseLifecyclePolicy(policy).problems;
    expect(p).toMatchObject({ line: 9, column: 22, field: 'selection.countUnit', rulePriority: 1, ruleIndex: 0 });
    expect(formatProblem(p!)).toBe(
      'line 9:22 rule 1 (rules[0]) selection.countUnit: countType "imageCountMoreThan" takes no countUnit — fix: remove countUnit (countNumber is a number of images)',
    );
  });
});

describe('parseLifecyclePolicy: the document', () => {
  const TEXT_CASES: { name: string; text: string; field: string; message: RegExp; line?: number; column?: number }[] = [
    {
      name: 'trailing comma',
      text: `${text([good]).slice(0, -1)},\n}`,
      field: 'policy text',
      message: /trailing comma/,
      line: 19,
      column: 1,
    },
    {
      name: 'missing comma',
      text: text([good]).replace('"rulePriority": 1,', '"rulePriority": 1'),
      field: 'policy text',
      message: /expected "," or "}"/,
      line: 5,
      column: 7,
    },
    {
      name: 'single quotes',
      text: `{'rules': []}${' '.repeat(100)}`,
      field: 'policy text',
      message: /property name in double quotes/,
      line: 1,
      column: 2,
    },
    { name: 'not an object', text: `[${' '.repeat(100)}]`, field: 'policy text', message: /must be a JSON object/ },
    { name: 'no rules', text: `{"Rules": []}${' '.repeat(100)}`, field: 'Rules', message: /unknown field "Rules"/ },
    { name: 'empty rules', text: `{"rules": []}${' '.repeat(100)}`, field: 'rules', message: /no rules/ },
  ];
  it.each(TEXT_CASES)('$name', ({ text: t, field, message, line, column }) => {
    const { problems, policy } = parseLifecyclePolicy(t);
    expect(policy).toBeUndefined();
    const p = problems.find((x) => x.field === field);
    expect(p, JSON.stringify(problems)).toBeDefined();
    expect(p!.message).toMatch(message);
    if (line !== undefined) expect({ line: p!.line, column: p!.column }).toEqual({ line, column });
  });

  it('rejects text under 100 characters (and still reports what else is wrong)', () => {
    const { problems } = parseLifecyclePolicy('{"rules": []}');
    expect(problems.map((p) => p.message)).toEqual([
      'the policy text is 13 characters; ECR requires at least 100',
      'the policy has no rules',
    ]);
  });

  it('rejects text over 30,720 characters', () => {
    const long = JSON.stringify({ rules: [{ ...good, description: 'x'.repeat(31_000) }] });
    expect(parseLifecyclePolicy(long).problems.map((p) => p.message)).toEqual([
      `the policy text is ${long.length} characters; ECR allows at most 30720`,
    ]);
  });

  it('accepts 50 rules and rejects 51', () => {
    const rules = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        ...good,
        rulePriority: i + 1,
        selection: { ...good.selection, tagPatternList: [`t${i}*`] },
      }));
    expect(parseLifecyclePolicy(JSON.stringify({ rules: rules(50) })).problems).toEqual([]);
    const { problems } = parseLifecyclePolicy(JSON.stringify({ rules: rules(51) }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field: 'rules', message: 'the policy has 51 rules; ECR allows at most 50' });
  });

  it('reads escapes and unicode in strings as JSON.parse does', () => {
    const rules = [{ ...good, description: 'caf\u00e9 \\ "quoted" \n tab\t' }];
    const r = parseLifecyclePolicy(JSON.stringify({ rules }));
    expect(r.policy).toEqual(JSON.parse(JSON.stringify({ rules })));
  });
});
