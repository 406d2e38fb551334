// Finds, in one pass, every problem ECR would reject in a lifecycle policy (ECR-FACTS.md,
// "Lifecycle policies"), so that a user fixes them all at once instead of one per PutLifecyclePolicy.
import {
  type JsonEntry,
  type JsonNode,
  JsonSyntaxError,
  lineColumnOf,
  parseJsonWithPositions,
  toPlain,
} from './json.js';
import type { LifecyclePolicy, LifecycleProblem } from './types.js';

export const POLICY_MIN_CHARS = 100;
export const POLICY_MAX_CHARS = 30_720;
export const MAX_RULES = 50;
export const MAX_WILDCARDS = 4;

const TAG_STATUSES = ['tagged', 'untagged', 'any'] as const;
const STORAGE_CLASSES = ['standard', 'archive'] as const;
const COUNT_TYPES = ['imageCountMoreThan', 'sinceImagePushed', 'sinceImagePulled', 'sinceImageTransitioned'] as const;
const ACTION_TYPES = ['expire', 'transition'] as const;

const RULE_FIELDS = ['rulePriority', 'description', 'selection', 'action'];
const SELECTION_FIELDS = [
  'tagStatus',
  'tagPrefixList',
  'tagPatternList',
  'storageClass',
  'countType',
  'countUnit',
  'countNumber',
];
const ACTION_FIELDS = ['type', 'targetStorageClass'];

/** Parses and validates policy text; returns the policy only when there are no problems. */
export function parseLifecyclePolicy(text: string): { policy?: LifecyclePolicy; problems: LifecycleProblem[] } {
  const problems: LifecycleProblem[] = [];
  const at = lineColumnOf(text);

  if (text.length < POLICY_MIN_CHARS) {
    problems.push({
      field: 'policy text',
      message: `the policy text is ${text.length} characters; ECR requires at least ${POLICY_MIN_CHARS}`,
      fix: 'write the complete policy document ({"rules":[…]}); a real rule is always longer than 100 characters',
    });
  } else if (text.length > POLICY_MAX_CHARS) {
    problems.push({
      field: 'policy text',
      message: `the policy text is ${text.length} characters; ECR allows at most ${POLICY_MAX_CHARS}`,
      fix: 'remove whitespace and descriptions, or merge rules',
    });
  }

  let root: JsonNode;
  try {
    root = parseJsonWithPositions(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    problems.push({
      field: 'policy text',
      message: `JSON syntax error: ${err.message}`,
      fix: 'correct the JSON at this position (a JSON linter or `jq . FILE` shows the same spot)',
      ...at(err.offset),
    });
    return { problems };
  }

  const v = new Validator(problems, at);
  v.document(root);
  if (problems.length > 0) return { problems };
  return { policy: toPlain(root) as LifecyclePolicy, problems };
}

interface RuleContext {
  ruleIndex: number;
  rulePriority?: number;
}

/** What the cross-rule checks need to know about each rule. */
interface RuleSummary extends RuleContext {
  node: JsonNode;
  priorityNode?: JsonNode;
  tagStatus?: string;
  tagStatusNode?: JsonNode;
  storageClass: string;
}

class Validator {
  constructor(
    private readonly problems: LifecycleProblem[],
    private readonly at: (offset: number) => { line: number; column: number },
  ) {}

  private add(
    ctx: RuleContext | undefined,
    field: string | undefined,
    node: { offset: number } | undefined,
    message: string,
    fix: string,
  ): void {
    const p: LifecycleProblem = { message, fix };
    if (ctx) {
      p.ruleIndex = ctx.ruleIndex;
      if (ctx.rulePriority !== undefined) p.rulePriority = ctx.rulePriority;
    }
    if (field !== undefined) p.field = field;
    if (node) Object.assign(p, this.at(node.offset));
    this.problems.push(p);
  }

  /** Reports unknown and null fields; returns the known, non-null entries by name. */
  private fields(
    obj: JsonNode & { kind: 'object' },
    allowed: readonly string[],
    ctx: RuleContext | undefined,
    prefix: string,
  ): Map<string, JsonEntry> {
    const out = new Map<string, JsonEntry>();
    for (const e of obj.entries) {
      const field = prefix + e.key;
      if (!allowed.includes(e.key)) {
        const near = closest(e.key, allowed);
        this.add(
          ctx,
          field,
          { offset: e.keyOffset },
          `unknown field "${e.key}"`,
          near ? `did you mean "${near}"? Otherwise remove it` : `remove it (allowed here: ${allowed.join(', ')})`,
        );
        continue;
      }
      if (e.value.kind === 'null') {
        this.add(
          ctx,
          field,
          e.value,
          `"${e.key}" is null; ECR rejects null values`,
          'remove the field, or give it a value',
        );
        continue;
      }
      out.set(e.key, e);
    }
    return out;
  }

  document(root: JsonNode): void {
    if (root.kind !== 'object') {
      this.add(
        undefined,
        'policy text',
        root,
        `the policy must be a JSON object, not ${kindName(root)}`,
        'write {"rules": [ … ]}',
      );
      return;
    }
    const f = this.fields(root, ['rules'], undefined, '');
    const rules = f.get('rules')?.value;
    if (!rules) {
      if (!root.entries.some((e) => e.key === 'rules')) {
        this.add(
          undefined,
          'rules',
          root,
          'the policy has no "rules" array',
          'add "rules": [ … ] with at least one rule',
        );
      }
      return;
    }
    if (rules.kind !== 'array') {
      this.add(
        undefined,
        'rules',
        rules,
        `"rules" must be an array, not ${kindName(rules)}`,
        'write "rules": [ { … }, … ]',
      );
      return;
    }
    if (rules.items.length === 0) {
      this.add(undefined, 'rules', rules, 'the policy has no rules', 'add at least one rule');
      return;
    }
    if (rules.items.length > MAX_RULES) {
      this.add(
        undefined,
        'rules',
        rules,
        `the policy has ${rules.items.length} rules; ECR allows at most ${MAX_RULES}`,
        'merge rules (one tagPatternList rule can cover several tags with wildcards) or drop some',
      );
    }
    const summaries = rules.items.map((node, i) => this.rule(node, i));
    this.crossRules(summaries.filter((s): s is RuleSummary => s !== undefined));
  }

  private rule(node: JsonNode, ruleIndex: number): RuleSummary | undefined {
    if (node.kind !== 'object') {
      this.add(
        { ruleIndex },
        undefined,
        node,
        `a rule must be a JSON object, not ${kindName(node)}`,
        'write { "rulePriority": …, "selection": { … }, "action": { … } }',
      );
      return undefined;
    }
    const priorityEntry = node.entries.find((e) => e.key === 'rulePriority');
    const pv = priorityEntry?.value;
    const ctx: RuleContext = { ruleIndex };
    if (pv?.kind === 'number' && Number.isInteger(pv.value) && pv.value >= 1) ctx.rulePriority = pv.value;

    const f = this.fields(node, RULE_FIELDS, ctx, '');
    const summary: RuleSummary = { ...ctx, node, storageClass: 'standard' };
    if (priorityEntry) summary.priorityNode = priorityEntry.value;

    // rulePriority
    const prio = f.get('rulePriority')?.value;
    if (!prio) {
      if (!priorityEntry)
        this.add(
          ctx,
          'rulePriority',
          node,
          'the rule has no rulePriority',
          `add "rulePriority": ${ruleIndex + 1} (a unique positive integer; lowest is applied first)`,
        );
    } else if (prio.kind !== 'number' || !Number.isInteger(prio.value) || prio.value < 1) {
      this.add(
        ctx,
        'rulePriority',
        prio,
        `rulePriority must be a positive integer, not ${kindName(prio)}`,
        `use a whole number from 1 up, e.g. ${ruleIndex + 1}`,
      );
    }

    // description
    const desc = f.get('description')?.value;
    if (desc && desc.kind !== 'string') {
      this.add(
        ctx,
        'description',
        desc,
        `description must be a string, not ${kindName(desc)}`,
        'quote it, or remove it',
      );
    }

    const sel = f.get('selection')?.value;
    const act = f.get('action')?.value;
    if (!sel && !node.entries.some((e) => e.key === 'selection')) {
      this.add(
        ctx,
        'selection',
        node,
        'the rule has no selection',
        'add "selection": { "tagStatus": …, "countType": …, "countNumber": … }',
      );
    }
    if (!act && !node.entries.some((e) => e.key === 'action')) {
      this.add(ctx, 'action', node, 'the rule has no action', 'add "action": { "type": "expire" }');
    }

    let actionType: string | undefined;
    if (act) {
      if (act.kind !== 'object') {
        this.add(
          ctx,
          'action',
          act,
          `action must be an object, not ${kindName(act)}`,
          'write "action": { "type": "expire" }',
        );
      } else {
        actionType = this.action(act, ctx);
      }
    }
    if (sel) {
      if (sel.kind !== 'object') {
        this.add(
          ctx,
          'selection',
          sel,
          `selection must be an object, not ${kindName(sel)}`,
          'write "selection": { "tagStatus": …, "countType": …, "countNumber": … }',
        );
      } else {
        this.selection(sel, ctx, actionType, act, summary);
      }
    }
    return summary;
  }

  /** Checks the action; returns its type when it is a known one. */
  private action(act: JsonNode & { kind: 'object' }, ctx: RuleContext): string | undefined {
    const f = this.fields(act, ACTION_FIELDS, ctx, 'action.');
    const type = f.get('type')?.value;
    const target = f.get('targetStorageClass')?.value;
    let actionType: string | undefined;
    if (!type) {
      if (!act.entries.some((e) => e.key === 'type'))
        this.add(
          ctx,
          'action.type',
          act,
          'the action has no type',
          'add "type": "expire" (or "transition" with "targetStorageClass": "archive")',
        );
    } else if (type.kind !== 'string' || !(ACTION_TYPES as readonly string[]).includes(type.value)) {
      this.add(
        ctx,
        'action.type',
        type,
        `action.type must be "expire" or "transition", not ${kindName(type)}`,
        'use "expire" to delete images, "transition" to move them to archive',
      );
    } else {
      actionType = type.value;
    }
    if (actionType === 'transition') {
      if (!target) {
        if (!act.entries.some((e) => e.key === 'targetStorageClass'))
          this.add(
            ctx,
            'action.targetStorageClass',
            act,
            'a transition action needs a targetStorageClass',
            'add "targetStorageClass": "archive"',
          );
      } else if (target.kind !== 'string' || target.value !== 'archive') {
        this.add(
          ctx,
          'action.targetStorageClass',
          target,
          `targetStorageClass must be "archive", not ${kindName(target)}`,
          'use "targetStorageClass": "archive"',
        );
      }
    } else if (actionType === 'expire' && target) {
      this.add(
        ctx,
        'action.targetStorageClass',
        target,
        'an expire action takes no targetStorageClass',
        'remove targetStorageClass, or use "type": "transition" to archive images',
      );
    }
    return actionType;
  }

  private selection(
    sel: JsonNode & { kind: 'object' },
    ctx: RuleContext,
    actionType: string | undefined,
    act: JsonNode | undefined,
    summary: RuleSummary,
  ): void {
    const f = this.fields(sel, SELECTION_FIELDS, ctx, 'selection.');
    const has = (k: string) => sel.entries.some((e) => e.key === k);

    // tagStatus and the tag lists
    const status = f.get('tagStatus')?.value;
    let tagStatus: string | undefined;
    if (!status) {
      if (!has('tagStatus'))
        this.add(
          ctx,
          'selection.tagStatus',
          sel,
          'the selection has no tagStatus',
          'add "tagStatus": "tagged", "untagged" or "any"',
        );
    } else if (status.kind !== 'string' || !(TAG_STATUSES as readonly string[]).includes(status.value)) {
      this.add(
        ctx,
        'selection.tagStatus',
        status,
        `tagStatus must be "tagged", "untagged" or "any", not ${kindName(status)}`,
        'use one of "tagged", "untagged", "any"',
      );
    } else {
      tagStatus = status.value;
      summary.tagStatus = tagStatus;
      summary.tagStatusNode = status;
    }
    const prefixes = f.get('tagPrefixList')?.value;
    const patterns = f.get('tagPatternList')?.value;
    if (prefixes) this.tagList(prefixes, 'selection.tagPrefixList', ctx, false);
    if (patterns) this.tagList(patterns, 'selection.tagPatternList', ctx, true);
    if (tagStatus === 'tagged') {
      if (prefixes && patterns) {
        this.add(
          ctx,
          'selection.tagPatternList',
          patterns,
          'a tagged rule takes tagPrefixList or tagPatternList, not both',
          'keep one list: a prefix "prod" is the pattern "prod*"',
        );
      } else if (!prefixes && !patterns && !has('tagPrefixList') && !has('tagPatternList')) {
        this.add(
          ctx,
          'selection.tagPatternList',
          status,
          'a tagged rule needs a tagPatternList or a tagPrefixList',
          'add "tagPatternList": ["prod*"] (the tags this rule applies to), or use "tagStatus": "any"',
        );
      }
    } else if (tagStatus === 'untagged' || tagStatus === 'any') {
      for (const [name, node] of [
        ['tagPrefixList', prefixes],
        ['tagPatternList', patterns],
      ] as const) {
        if (node)
          this.add(
            ctx,
            `selection.${name}`,
            node,
            `a rule with tagStatus "${tagStatus}" takes no ${name}`,
            `remove ${name}, or use "tagStatus": "tagged"`,
          );
      }
    }

    // storageClass
    const storage = f.get('storageClass')?.value;
    let storageClass = 'standard';
    if (storage) {
      if (storage.kind !== 'string' || !(STORAGE_CLASSES as readonly string[]).includes(storage.value)) {
        this.add(
          ctx,
          'selection.storageClass',
          storage,
          `storageClass must be "standard" or "archive", not ${kindName(storage)}`,
          'use "standard" (the default) or "archive"',
        );
      } else {
        storageClass = storage.value;
      }
    }
    summary.storageClass = storageClass;

    // countType, countUnit, countNumber
    const countTypeNode = f.get('countType')?.value;
    let countType: string | undefined;
    if (!countTypeNode) {
      if (!has('countType'))
        this.add(
          ctx,
          'selection.countType',
          sel,
          'the selection has no countType',
          'add "countType": "imageCountMoreThan" or "sinceImagePushed"',
        );
    } else if (countTypeNode.kind !== 'string' || !(COUNT_TYPES as readonly string[]).includes(countTypeNode.value)) {
      this.add(
        ctx,
        'selection.countType',
        countTypeNode,
        `countType must be one of ${COUNT_TYPES.join(', ')}; not ${kindName(countTypeNode)}`,
        'use "imageCountMoreThan" (keep the newest N) or "sinceImagePushed" (older than N days)',
      );
    } else {
      countType = countTypeNode.value;
    }

    const unit = f.get('countUnit')?.value;
    if (unit && (unit.kind !== 'string' || unit.value !== 'days')) {
      this.add(
        ctx,
        'selection.countUnit',
        unit,
        `countUnit must be "days", not ${kindName(unit)}`,
        'use "countUnit": "days"',
      );
    }
    if (countType === 'imageCountMoreThan' && unit) {
      this.add(
        ctx,
        'selection.countUnit',
        unit,
        'countType "imageCountMoreThan" takes no countUnit',
        'remove countUnit (countNumber is a number of images)',
      );
    } else if (countType !== undefined && countType !== 'imageCountMoreThan' && !unit && !has('countUnit')) {
      this.add(
        ctx,
        'selection.countUnit',
        countTypeNode,
        `countType "${countType}" needs "countUnit": "days"`,
        'add "countUnit": "days"',
      );
    }

    const num = f.get('countNumber')?.value;
    if (!num) {
      if (!has('countNumber'))
        this.add(
          ctx,
          'selection.countNumber',
          sel,
          'the selection has no countNumber',
          countType === 'imageCountMoreThan'
            ? 'add "countNumber": N (how many images to keep)'
            : 'add "countNumber": N (how many days)',
        );
    } else if (num.kind !== 'number' || !Number.isInteger(num.value) || num.value < 1) {
      this.add(
        ctx,
        'selection.countNumber',
        num,
        `countNumber must be an integer of at least 1, not ${kindName(num)}`,
        'use a whole number from 1 up',
      );
    }

    // Which count types go with which actions and storage classes.
    if (countType === 'sinceImagePulled' && actionType !== undefined && actionType !== 'transition') {
      this.add(
        ctx,
        'selection.countType',
        countTypeNode,
        'countType "sinceImagePulled" works only with a transition action',
        'use "action": {"type": "transition", "targetStorageClass": "archive"}, or "sinceImagePushed" to expire',
      );
    }
    if (countType === 'sinceImageTransitioned') {
      if (actionType !== undefined && actionType !== 'expire') {
        this.add(
          ctx,
          'selection.countType',
          countTypeNode,
          'countType "sinceImageTransitioned" works only with an expire action',
          'use "action": {"type": "expire"}',
        );
      }
      if (storageClass !== 'archive') {
        this.add(
          ctx,
          'selection.storageClass',
          storage ?? countTypeNode,
          'countType "sinceImageTransitioned" needs "storageClass": "archive" (only archived images have a transition time)',
          'add "storageClass": "archive" to the selection',
        );
      }
      // The ECR user guide ("Archiving an image"): archived images have a minimum storage
      // duration of 90 days, and no lifecycle policy may delete them sooner.
      const expiresArchived = actionType === 'expire' && storageClass === 'archive';
      if (
        expiresArchived &&
        num?.kind === 'number' &&
        Number.isInteger(num.value) &&
        num.value >= 1 &&
        num.value < 90
      ) {
        this.add(
          ctx,
          'selection.countNumber',
          num,
          `archived images have a minimum storage duration of 90 days; a rule cannot expire them after ${num.value}`,
          'use "countNumber": 90 or more (BatchDeleteImage deletes sooner, billed for the 90 days)',
        );
      }
    }
    if (actionType === 'transition' && storageClass === 'archive') {
      this.add(
        ctx,
        'selection.storageClass',
        storage ?? act,
        'a transition to archive selects images in standard storage; these are already archived',
        'remove "storageClass": "archive", or use an expire action',
      );
    }
  }

  private tagList(node: JsonNode, field: string, ctx: RuleContext, isPattern: boolean): void {
    if (node.kind !== 'array') {
      this.add(
        ctx,
        field,
        node,
        `${field.split('.')[1]} must be an array of strings, not ${kindName(node)}`,
        `write ["${isPattern ? 'prod*' : 'prod'}"]`,
      );
      return;
    }
    if (node.items.length === 0) {
      this.add(
        ctx,
        field,
        node,
        `${field.split('.')[1]} is empty`,
        `list at least one ${isPattern ? 'pattern, e.g. ["prod*"]' : 'prefix, e.g. ["prod"]'}`,
      );
      return;
    }
    node.items.forEach((item, i) => {
      const f = `${field}[${i}]`;
      if (item.kind !== 'string') {
        this.add(ctx, f, item, `each entry must be a string, not ${kindName(item)}`, 'quote it');
      } else if (item.value === '') {
        this.add(ctx, f, item, 'an entry is the empty string', 'remove it, or write the tag text it should match');
      } else if (isPattern) {
        const stars = item.value.split('*').length - 1;
        if (stars > MAX_WILDCARDS) {
          this.add(
            ctx,
            f,
            item,
            `pattern "${item.value}" has ${stars} wildcards; ECR allows at most ${MAX_WILDCARDS} per pattern`,
            'merge adjacent wildcards or split the pattern across rules',
          );
        }
      }
    });
  }

  private crossRules(rules: RuleSummary[]): void {
    // Unique priorities: report each repeat, naming the rule it collides with.
    const firstWith = new Map<number, RuleSummary>();
    for (const r of rules) {
      if (r.rulePriority === undefined) continue;
      const first = firstWith.get(r.rulePriority);
      if (first) {
        this.add(
          r,
          'rulePriority',
          r.priorityNode,
          `rulePriority ${r.rulePriority} is already used by rules[${first.ruleIndex}]`,
          `give each rule its own priority, e.g. ${maxPriority(rules) + 1}`,
        );
      } else {
        firstWith.set(r.rulePriority, r);
      }
    }

    // A tagStatus "any" rule must come last.
    for (const r of rules) {
      if (r.tagStatus !== 'any' || r.rulePriority === undefined) continue;
      const later = rules.filter((o) => o !== r && o.rulePriority !== undefined && o.rulePriority > r.rulePriority!);
      if (later.length > 0) {
        const others = later.map((o) => `rules[${o.ruleIndex}] has ${o.rulePriority}`).join(', ');
        this.add(
          r,
          'rulePriority',
          r.priorityNode,
          `a rule with tagStatus "any" must have the highest rulePriority, but ${others}`,
          `give this rule rulePriority ${maxPriority(rules) + 1}, or lower the others`,
        );
      }
    }

    // Only one rule per storage class may select untagged images.
    const untagged = new Map<string, RuleSummary>();
    for (const r of rules) {
      if (r.tagStatus !== 'untagged') continue;
      const first = untagged.get(r.storageClass);
      if (first) {
        this.add(
          r,
          'selection.tagStatus',
          r.tagStatusNode,
          `only one rule may select untagged images in ${r.storageClass} storage; rules[${first.ruleIndex}]${first.rulePriority !== undefined ? ` (priority ${first.rulePriority})` : ''} already does`,
          'merge the two untagged rules into one',
        );
      } else {
        untagged.set(r.storageClass, r);
      }
    }
  }
}

function maxPriority(rules: readonly RuleSummary[]): number {
  return rules.reduce((m, r) => Math.max(m, r.rulePriority ?? 0), 0);
}

function kindName(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'string':
      return `the string ${JSON.stringify(node.value)}`;
    case 'number':
      return `the number ${node.raw}`;
    case 'boolean':
      return node.value ? 'true' : 'false';
    default:
      return 'null';
  }
}

/** Returns the allowed name nearest to a misspelt one (case or a couple of letters off). */
function closest(name: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const a of allowed) {
    const d = a.toLowerCase() === name.toLowerCase() ? 0 : editDistance(a.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = a;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0;
      row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] ?? 0;
}
