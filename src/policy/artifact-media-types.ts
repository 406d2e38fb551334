// The media-type rules ECR applies to OCI artifacts, as pure functions: the client checks a
// manifest with them before it uploads anything, and the emulator refuses the same manifests
// when they are PUT. ECR is stricter than the OCI spec here (containers-roadmap #2306): an
// artifactType with `;` parameters is refused, and every media type must be a plain
// RFC 6838 `type/subtype`.

/** One broken rule: which field, its value and the rule in the user's words. */
export interface MediaTypeProblem {
  /** Where the value sits: `artifactType`, `config.mediaType`, `layers[1].mediaType`, … */
  field: string;
  value: string;
  rule: string;
}

/** The rule texts, so that client and emulator word a refusal the same way. */
export const MEDIA_TYPE_RULES = {
  noParameters: 'ECR refuses an artifactType with parameters (`;`): use a bare type/subtype',
  shape: 'a media type is type/subtype (RFC 6838: letters, digits and !#$&^_.+- , at most 127 characters each side)',
  length: 'a media type is at most 255 characters',
} as const;

// RFC 6838 restricted-name: first character alphanumeric, then up to 126 of the listed ones.
const RESTRICTED_NAME = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}';
const BARE = new RegExp(`^${RESTRICTED_NAME}/${RESTRICTED_NAME}$`);
// A parameter after the bare type: `; name=value` (value a token or a quoted string).
const WITH_PARAMS = new RegExp(
  `^${RESTRICTED_NAME}/${RESTRICTED_NAME}(\\s*;\\s*[A-Za-z0-9!#$&^_.+-]+=("[^"]*"|[A-Za-z0-9!#$&^_.+-]+))*$`,
);

/** Returns true when value is a bare `type/subtype` media type (no parameters). */
export function isBareMediaType(value: string): boolean {
  return value.length <= 255 && BARE.test(value);
}

/** Returns the problems of an artifactType (empty when ECR accepts it). */
export function artifactTypeProblems(value: string, field = 'artifactType'): MediaTypeProblem[] {
  if (value.includes(';')) return [{ field, value, rule: MEDIA_TYPE_RULES.noParameters }];
  return shapeProblems(value, field, false);
}

/** Returns the problems of a config or layer media type (parameters are allowed there). */
export function descriptorMediaTypeProblems(value: string, field: string): MediaTypeProblem[] {
  return shapeProblems(value, field, true);
}

function shapeProblems(value: string, field: string, paramsAllowed: boolean): MediaTypeProblem[] {
  if (value.length > 255) return [{ field, value, rule: MEDIA_TYPE_RULES.length }];
  const ok = paramsAllowed ? WITH_PARAMS.test(value) : BARE.test(value);
  return ok ? [] : [{ field, value, rule: MEDIA_TYPE_RULES.shape }];
}

/**
 * Returns every media-type problem ECR would refuse a manifest for (the parsed JSON
 * document): its artifactType, its config's and layers' media types, an index's entries'
 * artifactTypes.
 */
export function manifestMediaTypeProblems(doc: Readonly<Record<string, unknown>>): MediaTypeProblem[] {
  const out: MediaTypeProblem[] = [];
  if (typeof doc.artifactType === 'string') out.push(...artifactTypeProblems(doc.artifactType));
  const config = field(doc.config, 'mediaType');
  if (config !== undefined) out.push(...descriptorMediaTypeProblems(config, 'config.mediaType'));
  list(doc.layers).forEach((l, i) => {
    const t = field(l, 'mediaType');
    if (t !== undefined) out.push(...descriptorMediaTypeProblems(t, `layers[${i}].mediaType`));
  });
  list(doc.manifests).forEach((m, i) => {
    const t = field(m, 'artifactType');
    if (t !== undefined) out.push(...artifactTypeProblems(t, `manifests[${i}].artifactType`));
  });
  return out;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function field(v: unknown, name: string): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const x = (v as Record<string, unknown>)[name];
  return typeof x === 'string' ? x : undefined;
}

/** Returns one line per problem, as a RuleViolation lists them. */
export function formatMediaTypeProblems(problems: readonly MediaTypeProblem[]): string[] {
  return problems.map((p) => `${p.field} '${p.value}': ${p.rule}`);
}
