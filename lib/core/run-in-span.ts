import { finished } from 'node:stream';
import { context as contextApi, SpanKind, trace, type Context, type Span, type SpanOptions } from '@opentelemetry/api';
import { isObservable, Observable } from 'rxjs';
import { recordError } from './record-error';
import { getTracer } from './tracer';

/**
 * Runs `fn` inside a new active span and ends the span exactly once, when the work
 * `fn` started is over:
 * - a value or a throw: at once;
 * - a Promise or any thenable: when it settles (a Promise that resolves to an
 *   Observable is followed into that Observable);
 * - an Observable: when it completes, errors or is unsubscribed; it is subscribed
 *   inside the span's context, so the work it does has this span as parent;
 * - a Node stream: when it ends, errors or is destroyed;
 * - an async iterable or async generator: when iteration ends, throws, or is
 *   abandoned (`return()`, as `break` in `for await` does).
 * A failure goes through `recordError`. The returned value has the same shape as the
 * one `fn` returned.
 */
export function runInSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => T,
  parent: Context = contextApi.active(),
): T {
  const span = getTracer().startSpan(name, options, parent);
  const spanContext = trace.setSpan(parent, span);
  const kind = options.kind ?? SpanKind.INTERNAL;
  let result: T;
  try {
    result = contextApi.with(spanContext, fn, undefined, span);
  } catch (error) {
    recordError(span, error, kind);
    span.end();
    throw error;
  }
  return traceResult(result, new SpanEnding(span, kind), spanContext);
}

/** Ends a span once, recording the error it ended with, if any. */
class SpanEnding {
  private ended = false;

  constructor(
    readonly span: Span,
    private readonly kind: SpanKind,
  ) {}

  end(error?: unknown, failed = error !== undefined): void {
    if (this.ended) {
      return;
    }
    this.ended = true;
    if (failed) {
      recordError(this.span, error, this.kind);
    }
    this.span.end();
  }
}

function traceResult<T>(result: T, ending: SpanEnding, spanContext: Context): T {
  if (typeof result !== 'object' || result === null) {
    ending.end();
    return result;
  }
  if (isObservable(result)) {
    return traceObservable(result, ending, spanContext) as T;
  }
  const candidate = result as Record<PropertyKey, unknown>;
  if (typeof candidate.then === 'function') {
    return traceThenable(result as unknown as PromiseLike<unknown>, ending, spanContext) as T;
  }
  if (typeof candidate.pipe === 'function' && typeof candidate.on === 'function') {
    finished(result as unknown as NodeJS.ReadableStream, (error) => ending.end(error ?? undefined));
    return result;
  }
  if (typeof candidate[Symbol.asyncIterator] === 'function' && typeof candidate.getReader !== 'function') {
    return traceAsyncIterable(result as unknown as AsyncIterable<unknown>, ending, spanContext) as T;
  }
  ending.end();
  return result;
}

function traceThenable(thenable: PromiseLike<unknown>, ending: SpanEnding, spanContext: Context): Promise<unknown> {
  // A foreign thenable's own then() may return anything; adopting it gives a real Promise.
  const promise = thenable instanceof Promise ? thenable : Promise.resolve(thenable);
  return promise.then(
    (value) => {
      if (isObservable(value)) {
        return traceObservable(value, ending, spanContext);
      }
      ending.end();
      return value;
    },
    (error: unknown) => {
      ending.end(error, true);
      throw error;
    },
  );
}

function traceObservable<T>(source: Observable<T>, ending: SpanEnding, spanContext: Context): Observable<T> {
  return new Observable<T>((subscriber) => {
    const subscription = contextApi.with(spanContext, () =>
      source.subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          ending.end(error, true);
          subscriber.error(error);
        },
        complete: () => {
          ending.end();
          subscriber.complete();
        },
      }),
    );
    return () => {
      subscription.unsubscribe();
      ending.end();
    };
  });
}

function traceAsyncIterable<T>(
  iterable: AsyncIterable<T>,
  ending: SpanEnding,
  spanContext: Context,
): AsyncIterableIterator<T> {
  let iterator: AsyncIterator<T> | undefined;
  const source = (): AsyncIterator<T> =>
    (iterator ??= contextApi.with(spanContext, () => iterable[Symbol.asyncIterator]()));
  const settle = (step: Promise<IteratorResult<T>>): Promise<IteratorResult<T>> =>
    step.then(
      (result) => {
        if (result.done) {
          ending.end();
        }
        return result;
      },
      (error: unknown) => {
        ending.end(error, true);
        throw error;
      },
    );
  const call = (
    method: 'next' | 'return' | 'throw',
    arg: unknown,
    fallback: () => Promise<IteratorResult<T>>,
  ): Promise<IteratorResult<T>> => {
    const target = source();
    const fn = target[method] as ((value?: unknown) => Promise<IteratorResult<T>>) | undefined;
    if (typeof fn !== 'function') {
      return settle(fallback());
    }
    return settle(
      new Promise<IteratorResult<T>>((resolve) => resolve(contextApi.with(spanContext, () => fn.call(target, arg)))),
    );
  };
  return {
    next: (value?: unknown) => call('next', value, () => Promise.resolve({ done: true, value: undefined })),
    return: (value?: unknown) =>
      call('return', value, () => Promise.resolve({ done: true, value: value as T })).finally(() => ending.end()),
    throw: (error?: unknown) => call('throw', error, () => Promise.reject(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
