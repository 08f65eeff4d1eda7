import { context as contextApi, SpanKind, trace, type Context, type Span, type SpanOptions } from '@opentelemetry/api';
import { finalize, isObservable, Observable, Subject, tap } from 'rxjs';
import { recordError } from './record-error';
import { getTracer } from './tracer';

/**
 * Runs `fn` inside a new active span and ends the span exactly once, when the work
 * `fn` started is over:
 * - a value or a throw: at once;
 * - a Promise: when it settles (a Promise that resolves to an Observable is followed
 *   into that Observable);
 * - another thenable (a query builder such as Prisma's, Mongoose's or Knex's): when
 *   it settles after someone calls its `then` (it is returned behind a Proxy that
 *   watches `then` only, so nothing runs early and its own API stays);
 * - a Subject: at once, returned as it is (it is state, not a call in progress);
 * - an Observable: when it completes, errors or is unsubscribed; it is subscribed
 *   inside the span's context, so the work it does has this span as parent;
 * - a Node stream: when it closes (left as it is; no error listener is added);
 * - an async generator or async iterable: when iteration ends, throws, or is
 *   abandoned (`return()`, as `break` in `for await` does); an iterable object keeps
 *   its own API.
 * A failure goes through `recordError`. The returned value has the shape of the one
 * `fn` returned.
 */
export function runInSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => T,
  parent: Context = contextApi.active(),
): T {
  const span = getTracer().startSpan(name, options, parent);
  const spanContext = trace.setSpan(parent, span);
  const ending = new SpanEnding(span, options.kind ?? SpanKind.INTERNAL);
  try {
    return traceResult(contextApi.with(spanContext, fn, undefined, span), ending, spanContext);
  } catch (error) {
    ending.end(error, true);
    throw error;
  }
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

type Candidate = Record<PropertyKey, unknown>;

function traceResult<T>(result: T, ending: SpanEnding, spanContext: Context): T {
  if (typeof result !== 'object' || result === null) {
    ending.end();
    return result;
  }
  // A Subject (BehaviorSubject, ReplaySubject…) is state the caller keeps using
  // (`next()`, `getValue()`): it is returned as it is, and the call ends here.
  if (result instanceof Subject) {
    ending.end();
    return result;
  }
  if (isObservable(result)) {
    return traceObservable(result, ending, spanContext) as T;
  }
  if (result instanceof Promise) {
    return tracePromise(result, ending, spanContext) as T;
  }
  const candidate = result as unknown as Candidate;
  if (typeof candidate.then === 'function') {
    return traceThenable(candidate, ending, spanContext) as T;
  }
  if (typeof candidate.pipe === 'function' && typeof candidate.once === 'function') {
    endWithStream(result as unknown as StreamLike, ending);
    return result;
  }
  if (typeof candidate[Symbol.asyncIterator] === 'function' && typeof candidate.getReader !== 'function') {
    return traceAsyncIterable(result as unknown as AsyncIterable<unknown>, ending, spanContext) as T;
  }
  ending.end();
  return result;
}

function tracePromise(promise: Promise<unknown>, ending: SpanEnding, spanContext: Context): Promise<unknown> {
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

function traceThenable(thenable: Candidate, ending: SpanEnding, spanContext: Context): Candidate {
  const then = (onFulfilled?: (value: unknown) => unknown, onRejected?: (error: unknown) => unknown): unknown =>
    contextApi.with(spanContext, () =>
      Reflect.apply(thenable.then as Function, thenable, [
        (value: unknown) => {
          ending.end();
          return onFulfilled ? onFulfilled(value) : value;
        },
        (error: unknown) => {
          ending.end(error, true);
          if (onRejected) {
            return onRejected(error);
          }
          throw error;
        },
      ]),
    );
  return new Proxy(thenable, { get: (target, key) => (key === 'then' ? then : Reflect.get(target, key)) });
}

function traceObservable<T>(source: Observable<T>, ending: SpanEnding, spanContext: Context): Observable<T> {
  return new Observable<T>((subscriber) => {
    // Subscribing the downstream subscriber itself keeps unsubscription synchronous,
    // so an early `take(1)` stops even a synchronous source.
    contextApi.with(spanContext, () =>
      source
        .pipe(
          tap({ error: (error: unknown) => ending.end(error, true), complete: () => ending.end() }),
          finalize(() => ending.end()),
        )
        .subscribe(subscriber),
    );
  });
}

type StreamLike = { once(event: string, listener: () => void): unknown; errored?: unknown };

function endWithStream(stream: StreamLike, ending: SpanEnding): void {
  // No 'error' listener: adding one would hide an unhandled stream error from the app.
  const done = () => ending.end(stream.errored ?? undefined, stream.errored != null);
  stream.once('close', done);
  stream.once('end', done);
  stream.once('finish', done);
}

function traceAsyncIterable<T>(iterable: AsyncIterable<T>, ending: SpanEnding, spanContext: Context): AsyncIterable<T> {
  if (Object.prototype.toString.call(iterable) === '[object AsyncGenerator]') {
    return traceAsyncIterator(() => iterable as AsyncGenerator<T>, ending, spanContext);
  }
  const iterate = () => traceAsyncIterator(() => iterable[Symbol.asyncIterator](), ending, spanContext);
  return new Proxy(iterable, {
    get: (target, key) => (key === Symbol.asyncIterator ? iterate : Reflect.get(target, key)),
  });
}

function traceAsyncIterator<T>(
  open: () => AsyncIterator<T>,
  ending: SpanEnding,
  spanContext: Context,
): AsyncIterableIterator<T> {
  let iterator: AsyncIterator<T> | undefined;
  const call = (
    method: 'next' | 'return' | 'throw',
    arg: unknown,
    fallback: () => Promise<IteratorResult<T>>,
  ): Promise<IteratorResult<T>> =>
    new Promise<IteratorResult<T>>((resolve) => {
      const target = (iterator ??= contextApi.with(spanContext, open));
      const fn = target[method] as ((value?: unknown) => Promise<IteratorResult<T>>) | undefined;
      resolve(typeof fn === 'function' ? contextApi.with(spanContext, () => fn.call(target, arg)) : fallback());
    }).then(
      (result) => {
        if (result.done || method === 'return') {
          ending.end();
        }
        return result;
      },
      (error: unknown) => {
        ending.end(error, true);
        throw error;
      },
    );
  return {
    next: (value?: unknown) => call('next', value, () => Promise.resolve({ done: true, value: undefined })),
    return: (value?: unknown) => call('return', value, () => Promise.resolve({ done: true, value: value as T })),
    throw: (error?: unknown) => call('throw', error, () => Promise.reject(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
