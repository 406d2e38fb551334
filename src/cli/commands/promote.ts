// `ecrctl promote REF TAG...`: adds tags to an image that is already in the repository by
// writing its manifest under each tag. No blob moves. For ECR the API does it (PutImage with
// the manifest's media type); for other registries the registry API (PUT manifest).
import type { Command } from 'commander';
import { RuleViolation, UsageError } from '../../errors.js';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';

/** ECR's quota of tags on one image. */
const MAX_TAGS_PER_IMAGE = 1000;

/** Declares `ecrctl promote`. */
export function definePromote(program: Command, host: CommandHost): void {
  program
    .command('promote')
    .summary('add tags (staging, production, …) to an image already in the repository')
    .description(
      'Adds each TAG to the image REF names by writing its manifest under the tag: no blob is\n' +
        'read or sent, so it works for images, indexes, OCI artifacts and Helm charts alike. Tag\n' +
        'rules from .ecrctl.yaml apply. A tag already on the image is "unchanged"; an immutable\n' +
        'tag on another image exits 3 before anything is written, as does passing the 1,000\n' +
        'tags an ECR image can hold. ECR repositories are retagged through the ECR API\n' +
        '(PutImage), other registries through the registry API.',
    )
    .argument('<ref>', 'the image: REPO:TAG or REPO@DIGEST (short ECR form or HOST/REPO…)')
    .argument('<tags...>', 'tags to add')
    .option('--dry-run', 'print what would change; write nothing')
    .addHelpText(
      'after',
      examples(
        'ecrctl promote app:main-abc1234 staging',
        'ecrctl promote team/api@sha256:… production v1.4.2',
        'ecrctl promote 127.0.0.1:5000/app:v1 stable -o env',
      ),
    )
    .action(async (ref: string, tags: string[], opts: { dryRun?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runPromote(ctx, ref, tags, opts.dryRun === true);
    });
}

interface PromoteResult {
  imageUri: string;
  digest: string;
  mediaType: string;
  added: string[];
  unchanged: string[];
  dryRun: boolean;
}

/** Adds tags to an existing image and reports what changed. */
export async function runPromote(ctx: CliContext, ref: string, tags: string[], dryRun: boolean): Promise<void> {
  const [{ parseLocation, formatReference }, { resolveLocation }] = await Promise.all([
    import('../../oci/reference.js'),
    import('../locations.js'),
  ]);
  const loc = await resolveLocation(ctx, parseLocation(ref));
  if (loc.transport !== 'registry' || (!loc.reference.tag && !loc.reference.digest)) {
    throw new UsageError('promote takes an image in a registry, named by tag or digest', {
      value: ref,
      fix: 'write e.g. app:main-abc1234 or app@sha256:…',
    });
  }
  const unique = [...new Set(tags)];
  const repository = loc.reference.repository;
  const hostName = loc.reference.registry;

  const [{ loadProjectConfig, rulesFor }, policy, plan] = await Promise.all([
    import('../../config/project-config.js'),
    import('../../policy/tags.js'),
    import('../push-plan.js'),
  ]);
  const config = await loadProjectConfig(ctx.cwd, ctx.globals.config);
  const rules = rulesFor(config, repository);
  const ecr = await plan.ecrTarget(ctx, hostName);

  let result: PromoteResult;
  if (ecr) {
    const { conn, repos } = await plan.connect(ctx, ecr);
    const retag = await import('../../ecr/retag.js');
    const info = await repos.describeRepository(conn, repository);
    if (!info) {
      const { NotFoundError } = await import('../../errors.js');
      throw new NotFoundError(`repository ${repository} does not exist`, { value: repository });
    }
    const mutability = { setting: info.tagMutability, exclusions: info.mutabilityExclusions };
    const image = await retag.getEcrManifest(conn, repository, {
      ...(loc.reference.tag ? { tag: loc.reference.tag } : {}),
      ...(loc.reference.digest ? { digest: loc.reference.digest } : {}),
    });
    checkRules(
      ctx,
      policy.checkTagRules({ repository, tags: unique, ...(rules ? { rules } : {}), mutability }),
      rules?.at,
    );
    const existing = await retag.tagsOfImage(conn, repository, image.digest);
    const fresh = unique.filter((t) => !existing.includes(t));
    if (existing.length + fresh.length > MAX_TAGS_PER_IMAGE) {
      throw new RuleViolation(
        `${repository}@${image.digest} has ${existing.length} tags; ${fresh.length} more would pass ECR's limit of ${MAX_TAGS_PER_IMAGE} tags per image`,
        {
          rule: 'an ECR image holds at most 1,000 tags',
          value: fresh.join(','),
          fix: 'remove tags that are no longer used (ecrctl delete REPO:TAG), or a lifecycle rule that expires old tags',
        },
      );
    }
    const present = new Map<string, string | undefined>();
    for (const t of fresh) present.set(t, await retag.digestOfTag(conn, repository, t));
    conflicts(policy.planTagStates(image.digest, present, mutability), repository, image.digest);
    const added: string[] = [];
    if (!dryRun) for (const t of fresh) if ((await retag.putTag(conn, repository, image, t)) === 'added') added.push(t);
    result = {
      imageUri: `${info.uri}@${image.digest}`,
      digest: image.digest,
      mediaType: image.mediaType,
      added: dryRun ? fresh : added,
      unchanged: unique.filter((t) => !(dryRun ? fresh : added).includes(t)),
      dryRun,
    };
  } else {
    const { registryClient } = await import('../ecr-access.js');
    const { manifestReference } = await import('../../oci/reference.js');
    const target = (await registryClient(ctx)).repository(hostName, repository);
    const m = await target.getManifest(manifestReference(loc.reference), { signal: ctx.signal });
    checkRules(ctx, policy.checkTagRules({ repository, tags: unique, ...(rules ? { rules } : {}) }), rules?.at);
    const present = new Map<string, string | undefined>();
    for (const t of unique) present.set(t, (await target.headManifest(t, { signal: ctx.signal }))?.digest);
    const states = policy.planTagStates(m.digest, present);
    const fresh = states.filter((s) => s.action !== 'unchanged').map((s) => s.tag);
    if (!dryRun) {
      for (const t of fresh) {
        try {
          await target.putManifest(m, t, { signal: ctx.signal });
        } catch (err) {
          throw plan.immutableTagRefusal(err, repository);
        }
      }
    }
    const base = formatReference({ ...loc.reference, tag: undefined, digest: undefined });
    result = {
      imageUri: `${base}@${m.digest}`,
      digest: m.digest,
      mediaType: m.mediaType,
      added: fresh,
      unchanged: unique.filter((t) => !fresh.includes(t)),
      dryRun,
    };
  }

  render(ctx, result, {
    text: (r) =>
      `${r.dryRun ? 'would promote' : 'promoted'} ${r.imageUri}: ${[...r.added.map((t) => `${t} (${r.dryRun ? 'would add' : 'added'})`), ...r.unchanged.map((t) => `${t} (unchanged)`)].join(', ')}`,
    env: (r) => ({ IMAGE_URI: r.imageUri, IMAGE_DIGEST: r.digest, IMAGE_TAGS: unique.join(',') }),
  });
  if (!dryRun) {
    await plan.reportToCi(ctx, {
      verb: 'promote',
      imageUri: result.imageUri,
      digest: result.digest,
      tags: unique,
      unchangedTags: result.unchanged,
      detail: 'manifest only, no blobs moved',
    });
  }
}

function checkRules(ctx: CliContext, checks: import('../../policy/tags.js').RuleCheck[], at: string | undefined): void {
  for (const c of checks) if (c.status === 'warning') ctx.log.warn(`${c.rule}: ${c.message}`);
  const errors = checks.filter((c) => c.status === 'error');
  if (errors.length === 0) return;
  throw new RuleViolation(
    `${errors.length === 1 ? `the tag rule ${errors[0]?.rule} is` : `${errors.length} tag rules are`} broken; no tag was added`,
    {
      rule: errors.map((c) => c.rule).join(', '),
      fix: at ? `choose other tags, or change the rule (${at})` : 'choose other tags',
      problems: errors.map((c) => `${c.rule}: ${c.message}`),
    },
  );
}

function conflicts(states: import('../../policy/tags.js').TagState[], repository: string, digest: string): void {
  const bad = states.filter((s) => s.action === 'conflict');
  if (bad.length === 0) return;
  throw new RuleViolation(
    `${bad.length === 1 ? `tag '${bad[0]?.tag}' is` : `${bad.length} tags are`} immutable in ${repository} and on another image; no tag was added`,
    {
      rule: 'an immutable tag keeps pointing at the image it was first pushed with',
      fix: 'environment tags that move (staging, production) need an IMMUTABLE_WITH_EXCLUSION filter for them, e.g. `ecrctl create-repo REPO --if-not-exists --apply --tag-mutability IMMUTABLE_WITH_EXCLUSION --mutability-exclusion staging`',
      problems: bad.map((s) => `tag '${s.tag}': points at ${s.current}; promoting ${digest}`),
    },
  );
}
