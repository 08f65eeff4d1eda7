import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { APP_INTERCEPTOR, MetadataScanner } from '@nestjs/core';
import { tracingState } from './core';
import { HandlerSpanInterceptor, TracingExplorer } from './explorer';
import { HttpServerTracer } from './http';
import { MicroserviceClientTracer, MicroserviceServerTracer } from './microservices';
import { TRACING_OPTIONS } from './tracing.constants';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableTracingModule,
  OPTIONS_TYPE,
  TRACING_MODULE_OPTIONS,
} from './tracing.module-definition';
import { resolveTracingOptions, type ResolvedTracingOptions } from './tracing.options';
import { TracingService } from './tracing.service';

/**
 * Distributed tracing for a Nest application. Import it once, in the root module:
 *
 * ```ts
 * @Module({ imports: [TracingModule.forRoot()] })
 * export class AppModule {}
 * ```
 *
 * Every HTTP request then gets a SERVER span. The module is global: `TracingService`
 * can be injected anywhere.
 */
@Module({
  providers: [
    { provide: TRACING_OPTIONS, inject: [TRACING_MODULE_OPTIONS], useFactory: resolveTracingOptions },
    TracingService,
    HttpServerTracer,
    MicroserviceServerTracer,
    MicroserviceClientTracer,
    MetadataScanner,
    TracingExplorer,
    HandlerSpanInterceptor,
    {
      // Only for handler spans: any global interceptor costs every request an rxjs
      // pipeline, so none is registered otherwise (Nest skips a factory's `null`).
      provide: APP_INTERCEPTOR,
      inject: [TRACING_OPTIONS, HandlerSpanInterceptor],
      useFactory: (options: ResolvedTracingOptions, interceptor: HandlerSpanInterceptor) =>
        options.autoInstrument.handlers ? interceptor : null,
    },
  ],
  exports: [TracingService, HttpServerTracer],
})
export class TracingModule extends ConfigurableTracingModule implements OnApplicationShutdown {
  /** Configures the module with options known up front. */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Configures the module with options from a factory, a class or an existing
   * provider, e.g. from `ConfigService`.
   */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }

  constructor(@Inject(TRACING_OPTIONS) options: ResolvedTracingOptions) {
    super();
    tracingState.enabled = options.enabled;
  }

  onApplicationShutdown(): void {
    tracingState.enabled = true;
  }
}
