// The texts behind `ecrctl help TOPIC`: things that concern many commands at once, or a file
// format (sync's config), so no single option's help is the place for them. Documentation as
// plain data and two small lookups: no commander, no I/O; the CLI prints them.

/** One `ecrctl help` topic. */
export interface HelpTopic {
  name: string;
  /** One line for the topic list in `ecrctl --help`. */
  summary: string;
  /** The full text, ending with a newline. */
  text: string;
}

const references = `Image references and transports

Every command that reads or writes an image takes a location. Like skopeo, a
prefix names the transport; without one the text is a registry reference.

  HOST[:PORT]/REPO[:TAG][@DIGEST]  an image in a registry, e.g.
      123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v1
      public.ecr.aws/alias/app@sha256:…
  oci:DIR[:TAG]                    an OCI image layout directory
                                   (oci:./build/image:latest)
  docker-archive:FILE[:REF]        a \`docker save\` tar, old and new formats
                                   (docker-archive:app.tar:team/app:v1)
  docker-daemon:IMAGE              the local Docker daemon through \`docker
                                   save\`; a source only, and only where a
                                   daemon runs

Short references
  When the first part of a reference does not look like a host (it has no dot,
  no port and is not localhost), the reference is short: app:v1 or
  team/app@sha256:… resolve to the default ECR registry,
  <account>.dkr.ecr.<region>.amazonaws.com. The account comes from the
  proxyEndpoint that GetAuthorizationToken returns (no STS call); --registry-id
  picks another account and --region (or AWS_REGION) the region.

Tags and digests
  A tag follows the OCI rule [A-Za-z0-9_][A-Za-z0-9._-]{0,127}; a digest is
  sha256:<64 lowercase hex>. With both, the digest decides which image is meant.

Plain HTTP
  Registries on loopback (localhost, 127.0.0.0/8, ::1) are spoken to over plain
  HTTP, which is what \`ecrctl local serve\` and test registries use. Anywhere
  else ecrctl insists on HTTPS with a verified certificate unless you pass
  --insecure (or ECRCTL_INSECURE=1), which allows plain HTTP and unverified TLS.

Examples:
  $ ecrctl tag-push oci:./build/image:latest app:v1
  $ ecrctl inspect 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1
  $ ecrctl pull team/app:v1 docker-archive:app.tar
  $ ecrctl copy docker.io/library/alpine:3.20 team/alpine:3.20
  $ ecrctl --insecure tags registry.lan:5000/team/app
`;

const tagStrategies = `Tag strategies

A tag strategy derives tags for \`ecrctl tag-push\` from the build, so every
pipeline tags images the same way. Tags from --tag are added to the ones a
strategy gives.

  branch-sha    <branch>-<short sha>, e.g. main-abc1234: reproducible and
                traceable to a commit; the branch is lowercased and characters a
                tag cannot hold become -.
  semver        the version tag as given (v1.2.3; +build is written -build);
                with --semver-aliases also v1.2 and v1 (not for pre-releases
                such as v1.5.0-rc.1). Taken from a v1.2.3 git tag or
                GITHUB_REF_TYPE=tag.
  sha           the 7-character commit.
  env:NAME      the tag NAME itself, e.g. env:staging tags staging.
  latest        latest: the newest build. Fine for development; production
                deploys should pin a version tag, a commit tag or a digest,
                never latest.

A strategy that cannot be resolved exits 2 and names the variable or git fact
missing. \`--no-tag-strategy\` (or \`-s none\`) turns the config's strategies
off for one push; only --tag then tags the image.

Where the values come from, in this order:
  CodeBuild       CODEBUILD_RESOLVED_SOURCE_VERSION (commit),
                  CODEBUILD_WEBHOOK_HEAD_REF (branch, refs/heads/ removed),
                  CODEBUILD_SOURCE_VERSION, CODEBUILD_BUILD_ID
  GitHub Actions  GITHUB_SHA (commit), GITHUB_REF_NAME with GITHUB_REF_TYPE
                  (branch or tag); on a pull_request event the pull request's
                  head commit (pull_request.head.sha in GITHUB_EVENT_PATH) and
                  GITHUB_HEAD_REF, not the merge commit GitHub builds
  git             \`git\` in the working directory: HEAD, the current branch,
                  the tag on HEAD

Environment tags (staging, production) are moved as a build is promoted: see
\`ecrctl promote\`. Repositories for production should have immutable tags; the
project config (ecrctl help config) can require that.
`;

const exitCodes = `Exit codes

Scripts and CI steps can act on the exit code alone:

    0  ok
    1  failure: anything not listed below (network, registry or AWS errors,
       bugs)
    2  usage: an unknown command or option, a missing argument, a value that
       cannot be parsed (a bad reference, an unknown output format)
    3  rule violation: naming rules, tag rules, lifecycle policy validation
    4  scan threshold: \`ecrctl scan\` found findings at or above the threshold
    5  authentication or authorization: no credentials, an expired token, access
       denied
    6  not found: repository, image, tag or file
  130  interrupted (Ctrl-C, SIGINT or SIGTERM); nothing half-written is left
       behind

Errors go to stderr and name the rule broken, the value and a fix; data goes to
stdout.

Examples:
  $ ecrctl lifecycle validate policy.json || echo "policy rejected ($?)"
  $ ecrctl inspect app:v1 >/dev/null 2>&1; [ $? -eq 6 ] && echo "not pushed yet"
`;

const config = `The project config: .ecrctl.yaml

ecrctl looks for .ecrctl.yaml in the working directory and then in each parent
directory; --config FILE (or ECRCTL_CONFIG) names one directly. The config holds
the team's tag rules and defaults per repository pattern, so they live in the
repository next to the code and apply the same on a laptop, in CodeBuild and in
GitHub Actions.

  # .ecrctl.yaml
  naming:
    # lowercase, digits and hyphens only; in CodeBuild the repository name is
    # the project name (exit 3 when broken, not a warning; also for create-repo)
    houseRulesAsErrors: true
  repositories:
    - pattern: team/*-api        # * within a path segment, ** across segments
      production: true           # default: a prod/production word in the name
      strategies: [branch-sha]   # used when no --tag-strategy is given
      semverAliases: true
      allowedTags:               # full-match regexes; each tag must match one
        - 'main-[0-9a-f]{7}'
        - 'v[0-9]+(\\.[0-9]+){0,2}'
      forbid: [latest]           # wildcards with *
      requireImmutable: true     # refuse a repository with mutable tags
      create:                    # what tag-push --create-repo creates with
        tagMutability: IMMUTABLE_WITH_EXCLUSION
        mutabilityExclusions: [staging]
        scanOnPush: true

The first pattern that matches a repository applies. Every mistake in the file
is reported at once as file:line (exit 3). A push that breaks a rule exits 3
before anything moves and names the rule and its config line. Without a config:
pushing latest to a production repository warns, and so does a production
repository with mutable tags.
`;

/** Every topic of `ecrctl help TOPIC`, in the order the root --help lists them. */
const sync = `Sync configuration (ecrctl sync plan|apply|check -f FILE)

A sync file says which repositories to mirror where. Each tag is compared with
its target by digest using HEAD requests only, so an image the target already
has is never downloaded (no Docker Hub pull quota spent).

  version: 1
  defaults:                    # every entry's settings unless it sets its own
    platforms: all             # or one platform: [linux/arm64]
    referrers: true            # signatures, SBOMs and attestations come along
    createRepositories: true   # missing ECR targets are created (naming rules)
    existing: overwrite        # a target tag elsewhere: overwrite, skip, or
                               # backup (old image kept as TAG-backup-STAMP)
    repository:                # settings of the repositories sync creates
      tagMutability: IMMUTABLE_WITH_EXCLUSION
      mutabilityExclusions: [latest]
      scanOnPush: true
      lifecycle: preset:keep-last-n-tagged,prefix=v,count=50
                               # or a policy file (relative to the sync file)
    pullTimeExclusion: arn:aws:iam::111122223333:role/sync
                               # the identity sync runs as (see below)
    tags: { deny: ['-rc'] }    # the tag filter of entries that name none
  sync:
    - source: docker.io/library/node     # one repository
      target: mirror/node                # no host: the default ECR registry
      tags:
        allow: ['^22\\.', '^24\\.']        # regular expressions, unanchored
        deny: ['-rc']                    # tags matching any are left out
        semver: '>=22 <25'               # version tags in an npm semver range
        newest: 10                       # then the 10 highest versions
    - source: registry.example:5000/acme/      # every repository under a prefix
      target: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme/
      repositories: { deny: ['^legacy/'] }
      credentials:                             # per side; also in defaults
        source: { username: robot, passwordEnv: ACME_REGISTRY_PASSWORD }
        target: { profile: prod }

Credentials (credentials: { source: …, target: … }, in an entry or defaults;
an entry's side replaces the same side of the defaults). A side not named
uses the usual chain (.ecrctl.yaml registries:, AWS defaults, Docker config).
  ECR:    profile: NAME   and/or   roleArn: arn:aws:iam::ACCOUNT:role/R
          (+ externalId: ID); a short target (mirror/x) then means that
          profile's or role's own registry
  other:  dockerConfig: DIR   (a directory holding config.json; relative to
          the sync file)   or   username: U + passwordEnv: VAR, the NAME of
          an environment variable holding the password. Passwords are never
          written in the file. A variable that is not set fails that entry.
Source and target credentials for one registry host are refused.

An air-gapped export: target: oci:DIR/ (with a prefix source) writes one OCI
image layout per repository under DIR/<repository>/ (every platform, the
referrers, each tag as an org.opencontainers.image.ref.name in index.json, as
ecrctl pull REF oci:DIR:TAG writes it). plan compares with what the layouts
hold (no network); a second apply writes nothing. No repositories are created
and nothing is paced; existing: backup and target credentials do not apply.
    - source: registry.example:5000/acme/
      target: oci:./export/              # ./export/<repository>/index.json
The import side: source: oci:DIR/ reads every layout under DIR as the
repository at its path, its ref names as the tags, referrers included.

existing: backup tags the image a target tag points at as
TAG-backup-YYYYMMDDHHMMSS (UTC, one stamp per run) before overwriting it;
plan shows each backup, apply and --report list them.

Prefix sources are listed with the registry catalog (/v2/_catalog), or with
DescribeRepositories for an ECR registry, every page. apply copies what is
missing or moved (unless existing: skip), every tag of one image at once, tags
last. A blob another repository of the target registry already holds is
mounted, not sent again (ECR: BLOB_MOUNTING, see ecrctl account-setting).
Pacing: PutImage 9.5/s per repository and layer uploads 90/s per registry,
divided by N under --shard I/N, slower when ECR throttles all the same.
Repositories a CREATE_ON_PUSH creation template covers get its settings
(repository: overrides them). A failing tag or repository is reported and
the rest goes on.

repository.lifecycle: the lifecycle policy created repositories get (it
replaces a creation template's), as preset:NAME[,k=v...] (ecrctl lifecycle
presets) or a policy file. Both are checked before anything is sent; a bad
preset, parameter or policy is a file:line problem (exit 3). plan -o json
shows it per repository to create (lifecycle).

defaults.pullTimeExclusion: ECR records every manifest read as a pull
(lastRecordedPullTime), so a sync would make all it reads look used and
defeat sinceImagePulled lifecycle rules. With the ARN of the IAM user or role
sync runs as, apply and check first put it on the pull-time update exclusion
list (RegisterPullTimeUpdateExclusion; already there is fine) of every ECR
registry the run reads or writes. Needs ecr:RegisterPullTimeUpdateExclusion;
without it a warning, and the sync goes on. plan registers nothing.

  --state DIR     journals of completed tags and of every blob stored at a
                  target (append-only, fsync'd, read by every shard): after a
                  kill -9 the next apply neither re-sends nor re-asks about
                  anything that completed. Delete DIR to start over.
  --shard I/N     only slice I of N of the target repositories (a stable hash
                  of each name): N parallel jobs do exactly one run's work
  --report FILE   every success and failure as JSON, written whole or not at all

When stderr is not a terminal (CI), apply logs a heartbeat with repositories
done/total, tags copied and bytes sent at the start and every 30 s;
ECRCTL_SYNC_HEARTBEAT=10s (500ms, 2m; 0 for none) sets the interval.

Exit codes: 0 done or up to date; 1 something failed (the rest was synced);
2 usage; 3 the config has problems (each as file:line) or check found stale
tags; 6 the file does not exist. Examples: examples/sync/.
`;

export const HELP_TOPICS: readonly HelpTopic[] = [
  { name: 'references', summary: 'image references and transports, plain HTTP', text: references },
  { name: 'tag-strategies', summary: 'branch-sha, semver, sha, env:NAME, latest', text: tagStrategies },
  { name: 'exit-codes', summary: 'what each exit code means', text: exitCodes },
  { name: 'config', summary: 'the project config .ecrctl.yaml (tag rules)', text: config },
  { name: 'sync-config', summary: '`ecrctl sync`: sources, targets, tag filters', text: sync },
];

/** Returns the topic with this name, or undefined. */
export function findTopic(name: string): HelpTopic | undefined {
  return HELP_TOPICS.find((t) => t.name === name);
}

/** Returns the topic list block that `ecrctl --help` shows after its examples. */
export function topicListText(): string {
  // Written as commands to type, like the examples above it.
  const width = Math.max(...HELP_TOPICS.map((t) => t.name.length));
  const lines = HELP_TOPICS.map((t) => `  $ ecrctl help ${t.name.padEnd(width)}  ${t.summary}`);
  return `Help topics:\n${lines.join('\n')}\n`;
}

/** Returns the candidate closest to word when it is plausibly a typo of it, else undefined. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    // A prefix (`exit`, `tag`) is as good as a typo: the user knows the start of the name.
    const d = c.startsWith(word) && word.length >= 3 ? 1 : editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

// Optimal string alignment distance: a swap of two neighbours counts as one edit, which is
// the commonest typo (tag-psuh).
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i]!;
      const prev = d[i - 1]!;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}
