/**
 * A test of a string against a list of rules: a string rule matches it exactly, a
 * RegExp is tested on it (from the start even when it is global or sticky).
 * `undefined` for an empty list, so a caller can skip the test altogether.
 */
export function rulesMatcher(rules: readonly (string | RegExp)[]): ((value: string) => boolean) | undefined {
  if (rules.length === 0) {
    return undefined;
  }
  const exact = new Set(rules.filter((rule): rule is string => typeof rule === 'string'));
  const patterns = rules.filter((rule): rule is RegExp => rule instanceof RegExp);
  return (value) =>
    exact.has(value) ||
    patterns.some((pattern) => {
      pattern.lastIndex = 0;
      return pattern.test(value);
    });
}
