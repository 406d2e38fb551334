// One quoting rule for `KEY=value` lines that shells source (`set -a; . file`), `eval`, and
// CI systems read (CodeBuild exported variables, $GITHUB_ENV for plain values).

/** Characters a POSIX shell reads literally in an assignment's value, unquoted. */
const PLAIN = /^[A-Za-z0-9_./:@,+=-]*$/;

/**
 * Returns value as a POSIX shell word: unchanged when every character is plain
 * (`[A-Za-z0-9_./:@,+=-]`), otherwise single-quoted with each `'` written as `'\''`.
 */
export function shellQuote(value: string): string {
  return PLAIN.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Returns one `KEY=value` line (with its newline) that sh, bash and zsh read back as value. */
export function shellAssignment(key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new TypeError(`not a shell variable name: ${key}`);
  return `${key}=${shellQuote(value)}\n`;
}
