/**
 * A module the app may not have (an optional peer, or a file another version of a
 * Nest package lacks), or `undefined` when it cannot be loaded.
 */
export function requireOptional<T>(specifier: string): T | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(specifier) as T;
  } catch {
    return undefined;
  }
}
