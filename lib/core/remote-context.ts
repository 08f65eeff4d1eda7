import { propagation, trace, type Context, type TextMapGetter } from '@opentelemetry/api';

const LOWER_HEX = /^[0-9a-f]*$/;

/**
 * The context a carrier holds, by the global propagator, with its trace and span ids
 * in lower case. The B3 and Jaeger readers pass upper-case hex through, but W3C
 * Trace Context (`traceparent`, `traceresponse`) allows lower case only: a span
 * joining such a parent as it is would send the next hop ids it rejects.
 */
export function extractRemote<Carrier>(base: Context, carrier: Carrier, getter?: TextMapGetter<Carrier>): Context {
  const extracted = propagation.extract(base, carrier, getter);
  const spanContext = trace.getSpanContext(extracted);
  if (spanContext === undefined || (LOWER_HEX.test(spanContext.traceId) && LOWER_HEX.test(spanContext.spanId))) {
    return extracted;
  }
  return trace.setSpanContext(extracted, {
    ...spanContext,
    traceId: spanContext.traceId.toLowerCase(),
    spanId: spanContext.spanId.toLowerCase(),
  });
}
