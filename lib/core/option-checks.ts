/** How an option is checked: what is allowed (for the error message), and whether a value is. */
export type OptionCheck = readonly [allowed: string, check: (value: unknown) => boolean];

export const BOOLEAN_CHECK: OptionCheck = ['true or false', (value) => typeof value === 'boolean'];

export const FUNCTION_CHECK: OptionCheck = ['a function', (value) => typeof value === 'function'];

/** `trustIncomingContext`: a boolean or a predicate. */
export const TRUST_CHECK: OptionCheck = [
  'true, false or a function',
  (value) => typeof value === 'boolean' || typeof value === 'function',
];

/** `ignore`: a list of strings and RegExps (`what` names the strings), or a predicate. */
export function ignoreCheck(what: string): OptionCheck {
  return [
    `an array of ${what} (strings) and RegExps, or a function`,
    (value) =>
      typeof value === 'function' ||
      (Array.isArray(value) && value.every((rule) => typeof rule === 'string' || rule instanceof RegExp)),
  ];
}
