export { NestAttributes } from './core';
export { CurrentSpan, Traced, Untraced, type TracedOptions } from './decorators';
export { TracingInterceptor, type HttpIgnoreRule, type HttpTracingOptions } from './http';
export { TracingError } from './tracing.error';
export { TracingModule } from './tracing.module';
export { DEFAULT_TRACING_OPTIONS, type TracingModuleOptions } from './tracing.options';
export { TracingService } from './tracing.service';
