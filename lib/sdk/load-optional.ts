import { TracingError } from '../tracing.error';
import { TracingMessages } from '../tracing.messages';

/**
 * Loads an optional peer package the app chose to use (an exporter, a propagator),
 * or throws a `TracingError` naming the package to install.
 */
export function loadOptional<T>(packageName: string, forWhat: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(packageName) as T;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') {
      throw TracingError.create(TracingMessages.missingPackage(forWhat, packageName));
    }
    throw error;
  }
}
