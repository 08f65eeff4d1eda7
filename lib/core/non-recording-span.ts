import { INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';

/** A span that records nothing: what callers get when there is no span to give. */
export const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
