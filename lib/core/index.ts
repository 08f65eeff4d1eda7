export { NestAttributes } from './attribute-names';
export { NON_RECORDING_SPAN } from './non-recording-span';
export { copyFunctionMetadata } from './copy-metadata';
export { runHook } from './hooks';
export { errorTypeOf, httpStatusOf, recordError } from './record-error';
export { runInSpan } from './run-in-span';
export { getTracer } from './tracer';
export { tracingState } from './tracing-state';
