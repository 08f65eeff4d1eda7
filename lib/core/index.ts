export { NestAttributes } from './attribute-names';
export { NON_RECORDING_SPAN } from './non-recording-span';
export { copyFunctionMetadata } from './copy-metadata';
export { reportOnce, runHook } from './hooks';
export { errorTypeOf, httpStatusOf, messageOf, recordError, recordException } from './record-error';
export { suppressTracing } from './suppress-tracing';
export { runInSpan } from './run-in-span';
export { getTracer } from './tracer';
export { tracingState } from './tracing-state';
