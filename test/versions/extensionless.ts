/**
 * A resolve hook for the compiled specs: their relative imports have no extension
 * (`'./http-apps'`), as the TypeScript sources Jest runs them from; ES modules need
 * one, so a relative specifier that is not found is tried again with `.js`. Any other
 * error, or a miss either way, is the original one.
 */
type Resolve = (specifier: string, context: object) => Promise<unknown>;

export async function resolve(specifier: string, context: object, next: Resolve): Promise<unknown> {
  if (!specifier.startsWith('.') || /\.[cm]?js$/.test(specifier)) {
    return next(specifier, context);
  }
  try {
    return await next(specifier, context);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') {
      throw error;
    }
    return next(`${specifier}.js`, context).catch(() => {
      throw error;
    });
  }
}
