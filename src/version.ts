// The version and the user agent, with no imports, so that `--version` and anything that
// names itself on the wire can read them without loading anything else. A test keeps
// VERSION equal to package.json's.

/** The ecrctl version (equal to package.json's `version`). */
export const VERSION = '0.1.0';

/** Returns the User-Agent ecrctl sends to registries. */
export function userAgent(): string {
  return `ecrctl/${VERSION}`;
}
