import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  ApplicationConfig,
  DiscoveryService,
  HttpAdapterHost,
  MetadataScanner,
  ModuleRef,
  ModulesContainer,
  Reflector,
} from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { TRACING_OPTIONS } from '../tracing.constants';
import type { ResolvedTracingOptions } from '../tracing.options';
import type { ResolvedAutoInstrumentOptions } from './auto-instrument.options';
import { autoInstrumentState, instrumentMethod, type InstrumentedType } from './instrument-method';

/** The method of each kind of enhancer that Nest calls per request, by Nest's enhancer subtype. */
const ENHANCER_METHODS: Readonly<Record<string, readonly [method: string, type: InstrumentedType]>> = {
  guard: ['canActivate', 'guard'],
  pipe: ['transform', 'pipe'],
  interceptor: ['intercept', 'interceptor'],
};

/** The metadata `@nestjs/schedule` puts on `@Cron`, `@Interval` and `@Timeout` methods. */
const SCHEDULER_TYPE = 'SCHEDULER_TYPE';
/** The metadata `@nestjs/event-emitter` puts on `@OnEvent` methods. */
const EVENT_LISTENER_METADATA = 'EVENT_LISTENER_METADATA';

/** Methods Nest calls on every provider itself: never spans of their own. */
const LIFECYCLE_METHODS: ReadonlySet<string> = new Set([
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/** Modules whose providers are Nest's or this package's own: never instrumented. */
const OWN_MODULES: ReadonlySet<string | undefined> = new Set(['InternalCoreModule', 'TracingModule']);

/**
 * Modules of Nest's own packages: their providers' methods are not the app's, so
 * `providers` leaves them out (their jobs and listeners are still the app's concern).
 */
const NEST_PACKAGE_MODULES: ReadonlySet<string | undefined> = new Set([
  'ClientsModule',
  'ConfigModule',
  'ConfigHostModule',
  'DiscoveryModule',
  'EventEmitterModule',
  'ScheduleModule',
  'HttpModule',
  'TerminusModule',
  'CacheModule',
  'ThrottlerModule',
  'JwtModule',
  'PassportModule',
  'MulterModule',
  'CqrsModule',
  'ServeStaticModule',
  'DevtoolsModule',
  'RouterModule',
]);

/** Providers Nest adds to every module (`ModuleRef`, `ApplicationConfig`, …) and its core services. */
function isNestCoreProvider(instance: object): boolean {
  return (
    instance instanceof ModuleRef ||
    instance instanceof ApplicationConfig ||
    instance instanceof Reflector ||
    instance instanceof DiscoveryService ||
    instance instanceof MetadataScanner ||
    instance instanceof ModulesContainer ||
    instance instanceof HttpAdapterHost
  );
}

/** A class of this package's, which the explorer never instruments. */
export const NOT_INSTRUMENTED = Symbol('nestjs-tracing.not-instrumented');

/**
 * @internal Finds, when the app initialises, what `autoInstrument` asks to trace:
 * guards, pipes and interceptors (Nest calls their methods per request), provider
 * methods, `@nestjs/schedule` jobs and `@nestjs/event-emitter` listeners, with
 * Nest's `ModulesContainer` and `MetadataScanner`, and wraps each method on its
 * instance.
 */
@Injectable()
export class TracingExplorer implements OnModuleInit {
  private readonly options: ResolvedAutoInstrumentOptions;

  constructor(
    @Inject(TRACING_OPTIONS) options: ResolvedTracingOptions,
    private readonly modules: ModulesContainer,
    private readonly scanner: MetadataScanner,
  ) {
    this.options = options.autoInstrument;
    Object.assign(autoInstrumentState, {
      guard: this.options.guards,
      pipe: this.options.pipes,
      interceptor: this.options.interceptors,
      filter: this.options.filters,
      middleware: this.options.middleware,
      handler: this.options.handlers,
      provider: this.options.providers !== undefined,
      cron: this.options.schedule,
      event: this.options.events,
    });
  }

  onModuleInit(): void {
    for (const moduleRef of this.modules.values()) {
      if (OWN_MODULES.has(moduleRef.metatype?.name)) {
        continue;
      }
      for (const wrapper of moduleRef.injectables.values()) {
        this.instrumentEnhancer(wrapper);
      }
      const libraryModule = NEST_PACKAGE_MODULES.has(moduleRef.metatype?.name);
      for (const wrapper of moduleRef.providers.values()) {
        // `APP_GUARD`, `APP_PIPE` and `APP_INTERCEPTOR` singletons are providers with a subtype.
        if (wrapper.subtype !== undefined) {
          this.instrumentEnhancer(wrapper);
          continue;
        }
        const instance = staticInstance(wrapper);
        if (instance !== undefined && instance.constructor !== moduleRef.metatype && !isNestCoreProvider(instance)) {
          this.instrumentProvider(instance, libraryModule);
        }
      }
    }
  }

  private instrumentEnhancer(wrapper: InstanceWrapper): void {
    const enhancer = wrapper.subtype === undefined ? undefined : ENHANCER_METHODS[wrapper.subtype];
    const instance = staticInstance(wrapper);
    if (enhancer !== undefined && instance !== undefined && autoInstrumentState[enhancer[1]]) {
      instrumentMethod(instance, enhancer[0], enhancer[1]);
    }
  }

  /** Jobs and listeners of any provider; every method of the app's own providers the option selects. */
  private instrumentProvider(instance: object, libraryModule: boolean): void {
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (prototype === null || prototype === Object.prototype) {
      return;
    }
    const providerClass = instance.constructor;
    const allProviders =
      !libraryModule &&
      this.options.providers !== undefined &&
      this.options.providers(providerClass, providerClass.name);
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = (instance as Record<string, unknown>)[methodName];
      if (typeof method !== 'function') {
        continue;
      }
      const background = backgroundTypeOf(method);
      if (background !== undefined) {
        if (autoInstrumentState[background]) {
          instrumentMethod(instance, methodName, background);
        }
      } else if (allProviders && !LIFECYCLE_METHODS.has(methodName)) {
        instrumentMethod(instance, methodName, 'provider');
      }
    }
  }
}

/** `cron` for a `@nestjs/schedule` job, `event` for an `@OnEvent` listener, else `undefined`. */
export function backgroundTypeOf(method: unknown): 'cron' | 'event' | undefined {
  if (typeof method !== 'function') {
    return undefined;
  }
  if (Reflect.getMetadata(SCHEDULER_TYPE, method) !== undefined) {
    return 'cron';
  }
  return Reflect.getMetadata(EVENT_LISTENER_METADATA, method) !== undefined ? 'event' : undefined;
}

/** The instance of a singleton that is not one of this package's, or `undefined`. */
function staticInstance(wrapper: InstanceWrapper): object | undefined {
  if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
    return undefined;
  }
  const instance: unknown = wrapper.instance;
  if (typeof instance !== 'object' || instance === null) {
    return undefined;
  }
  return NOT_INSTRUMENTED in (instance.constructor ?? {}) || NOT_INSTRUMENTED in instance ? undefined : instance;
}
