import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';

/** @internal Registers, globally, the AsyncLocalStorage context manager. */
export function registerContext(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/**
 * @internal Registers, globally, the AsyncLocalStorage context manager and the W3C
 * trace-context and baggage propagators: what the testing kit runs with.
 */
export function registerContextAndPropagation(): void {
  registerContext();
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
}
