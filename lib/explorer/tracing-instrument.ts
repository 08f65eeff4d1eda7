import { instrumentMethod } from './instrument-method';
import { backgroundTypeOf } from './tracing.explorer';

/** The metadata `@Catch()` puts on an exception filter class. */
const FILTER_CATCH_EXCEPTIONS = '__filterCatchExceptions__';

/** What `NestFactory.create(AppModule, { instrument })` takes. */
export interface NestInstrument {
  instanceDecorator: (instance: unknown) => unknown;
}

/**
 * What lets `autoInstrument` trace exception filters and class middleware (and
 * schedule jobs whatever the module order): pass it to Nest when the app is created.
 * Nest binds filters and middleware before any module initialises, so they can only
 * be wrapped as Nest builds them; Nest's `instrument.instanceDecorator` is the hook
 * for that. It changes nothing until `autoInstrument` switches a kind of span on.
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule, { instrument: tracingInstrument() });
 * ```
 */
export function tracingInstrument(): NestInstrument {
  return {
    instanceDecorator(instance) {
      // A request-scoped or transient instance is built per request or per consumer:
      // left alone, as the explorer leaves it.
      if (typeof instance !== 'object' || instance === null || !isSingleton(instance.constructor)) {
        return instance;
      }
      const target = instance as Record<string, unknown>;
      if (
        typeof target.catch === 'function' &&
        Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, instance.constructor) !== undefined
      ) {
        instrumentMethod(instance, 'catch', 'filter');
      }
      if (typeof target.use === 'function' && (target.use as Function).length === 3) {
        instrumentMethod(instance, 'use', 'middleware');
      }
      for (const methodName of methodNamesOf(instance)) {
        const type = backgroundTypeOf(target[methodName]);
        if (type !== undefined) {
          instrumentMethod(instance, methodName, type);
        }
      }
      return instance;
    },
  };
}

/** Whether a class is a default-scoped (singleton) provider (Nest's `scope:options` metadata). */
function isSingleton(providerClass: Function | undefined): boolean {
  const scope = (Reflect.getMetadata(SCOPE_OPTIONS, providerClass ?? Object) as { scope?: unknown } | undefined)?.scope;
  return scope === undefined || scope === 0;
}

/** The metadata `@Injectable({ scope })` puts on a class. */
const SCOPE_OPTIONS = 'scope:options';

/** The method names along an instance's prototype chain (its class and the classes it extends). */
function methodNamesOf(instance: object): string[] {
  const names = new Set<string>();
  for (
    let prototype = Object.getPrototypeOf(instance) as object | null;
    prototype !== null && prototype !== Object.prototype;
    prototype = Object.getPrototypeOf(prototype) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
      if (name !== 'constructor' && typeof descriptor?.value === 'function') {
        names.add(name);
      }
    }
  }
  return [...names];
}
