export { NestAttributes } from './core';
export { CurrentSpan, Traced, Untraced, type TracedOptions } from './decorators';
export { type HttpIgnoreRule, type HttpRequest, type HttpTracingOptions } from './http';
export { type MessageInfo, type MicroservicesTracingOptions } from './microservices';
export { TracingError } from './tracing.error';
export { TracingInterceptor } from './tracing.interceptor';
export { TracingModule } from './tracing.module';
export { DEFAULT_TRACING_OPTIONS, type TracingModuleOptions } from './tracing.options';
export { TracingService } from './tracing.service';
