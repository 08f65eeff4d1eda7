export { traceLogFields, type TraceLogFields } from './trace-log-fields';
export { TracingLogger, type TracingLoggerOptions } from './tracing.logger';
