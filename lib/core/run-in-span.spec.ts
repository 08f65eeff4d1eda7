import { Readable } from 'node:stream';
import { BadRequestException, InternalServerErrorException } from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { setupTestTracing } from 'nestjs-tracing/testing';
import { EventEmitter } from 'node:events';
import {
  BehaviorSubject,
  defer,
  delay,
  firstValueFrom,
  lastValueFrom,
  Observable,
  of,
  Subject,
  take,
  throwError,
  timer,
} from 'rxjs';
import { runInSpan } from './run-in-span';

describe('runInSpan', () => {
  const tracing = setupTestTracing();
  afterEach(() => tracing.reset());
  afterAll(() => tracing.shutdown());

  const ended = (name: string) => tracing.getFinishedSpans().filter((span) => span.name === name).length;

  it('makes the span active and ends it at return', () => {
    const result = runInSpan('sync', {}, (span) => {
      expect(trace.getActiveSpan()).toBe(span);
      return 42;
    });
    expect(result).toBe(42);
    tracing.expectSpan('sync', { kind: SpanKind.INTERNAL, status: SpanStatusCode.UNSET, parent: null });
  });

  it('records a throw and rethrows it untouched', () => {
    const error = new TypeError('boom');
    expect(() =>
      runInSpan('throws', {}, () => {
        throw error;
      }),
    ).toThrow(error);
    const span = tracing.expectSpan('throws', {
      status: SpanStatusCode.ERROR,
      attributes: { 'error.type': 'TypeError' },
    });
    expect(span.status.message).toBe('boom');
    expect(span.events.map((event) => event.name)).toEqual(['exception']);
  });

  it.each([
    ['a string', 'bad', '_OTHER', 'bad'],
    ['a plain object', { code: 7, message: 'odd' }, '_OTHER', 'odd'],
    ['undefined', undefined, '_OTHER', 'undefined'],
  ])('handles %s thrown', (_label, thrown, errorType, message) => {
    expect(() =>
      runInSpan('odd', {}, () => {
        throw thrown;
      }),
    ).toThrow();
    const span = tracing.expectSpan('odd', { status: SpanStatusCode.ERROR, attributes: { 'error.type': errorType } });
    expect(span.status.message).toBe(message);
    expect(span.events).toHaveLength(1);
  });

  it('ends when a Promise resolves, not before', async () => {
    let release!: () => void;
    const promise = runInSpan('promise', {}, () => new Promise<string>((resolve) => (release = () => resolve('ok'))));
    await Promise.resolve();
    expect(ended('promise')).toBe(0);
    release();
    await expect(promise).resolves.toBe('ok');
    tracing.expectSpan('promise', { status: SpanStatusCode.UNSET });
  });

  it('ends a plain function that returns a Promise when it settles (not at return)', async () => {
    const promise = runInSpan('plain', {}, () => new Promise((resolve) => setTimeout(resolve, 20)));
    expect(ended('plain')).toBe(0);
    await promise;
    const [span] = tracing.getFinishedSpans();
    expect(span.duration[0] * 1e3 + span.duration[1] / 1e6).toBeGreaterThanOrEqual(15);
  });

  it('records a rejection', async () => {
    await expect(runInSpan('rejects', {}, () => Promise.reject(new RangeError('no')))).rejects.toThrow('no');
    tracing.expectSpan('rejects', { status: SpanStatusCode.ERROR, attributes: { 'error.type': 'RangeError' } });
  });

  it('ends on a custom thenable', async () => {
    const thenable = { then: (resolve: (value: number) => void) => setTimeout(() => resolve(5), 5) };
    const result = await runInSpan('thenable', {}, () => thenable);
    expect(result).toBe(5);
    expect(ended('thenable')).toBe(1);
  });

  it('leaves a lazy query-builder thenable lazy and whole, and ends when it is awaited', async () => {
    let executed = 0;
    class Query {
      lean() {
        return this;
      }
      exec() {
        executed++;
        return Promise.resolve(['row']);
      }
      then(onFulfilled: (rows: string[]) => unknown, onRejected: (error: unknown) => unknown) {
        return this.exec().then(onFulfilled, onRejected);
      }
      get [Symbol.toStringTag]() {
        return 'PrismaPromise';
      }
    }
    const query = runInSpan('query', {}, () => new Query());
    expect(query).toBeInstanceOf(Query);
    expect(typeof query.lean).toBe('function');
    expect(Object.prototype.toString.call(query)).toBe('[object PrismaPromise]');
    expect(executed).toBe(0);
    expect(ended('query')).toBe(0);
    expect(await query).toEqual(['row']);
    expect(executed).toBe(1);
    expect(ended('query')).toBe(1);
  });

  it('ends the span when reading the result throws after fn returned', () => {
    const weird = {
      get then() {
        throw new Error('getter');
      },
    };
    expect(() => runInSpan('then getter', {}, () => weird)).toThrow('getter');
    tracing.expectSpan('then getter', { status: SpanStatusCode.ERROR });
  });

  it('keeps the parent across awaits', async () => {
    await runInSpan('outer', {}, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      runInSpan('inner', {}, () => undefined);
    });
    tracing.expectSpan('inner', { parent: 'outer' });
  });

  describe('Observables', () => {
    it('ends when the Observable completes, not at return, and runs the subscription in the span', async () => {
      const source = runInSpan('observable', {}, () =>
        defer(() => {
          runInSpan('child', {}, () => undefined);
          return timer(5);
        }),
      );
      expect(ended('observable')).toBe(0);
      await lastValueFrom(source);
      tracing.expectSpan('child', { parent: 'observable' });
      expect(ended('observable')).toBe(1);
    });

    it('records an emitted error', async () => {
      const source = runInSpan('errors', {}, () => throwError(() => new Error('emitted')));
      await expect(firstValueFrom(source)).rejects.toThrow('emitted');
      tracing.expectSpan('errors', { status: SpanStatusCode.ERROR, attributes: { 'error.type': 'Error' } });
    });

    it('ends once when unsubscribed early', () => {
      const subject = new Subject<number>();
      const subscription = runInSpan('unsubscribed', {}, () => subject.asObservable()).subscribe();
      subject.next(1);
      subscription.unsubscribe();
      subject.complete();
      expect(ended('unsubscribed')).toBe(1);
      tracing.expectSpan('unsubscribed', { status: SpanStatusCode.UNSET });
    });

    it('stops a synchronous source when the subscriber unsubscribes early', () => {
      let emitted = 0;
      const source = new Observable<number>((subscriber) => {
        for (let index = 0; index < 1000 && !subscriber.closed; index++) {
          emitted++;
          subscriber.next(index);
        }
        subscriber.complete();
      });
      runInSpan('take one', {}, () => source)
        .pipe(take(1))
        .subscribe();
      expect(emitted).toBe(1);
      expect(ended('take one')).toBe(1);
    });

    it('follows a Promise that resolves to an Observable', async () => {
      const source = await runInSpan('wrapped', {}, async () => of(1).pipe(delay(5)));
      expect(ended('wrapped')).toBe(0);
      await lastValueFrom(source);
      expect(ended('wrapped')).toBe(1);
    });
  });

  describe('async iterables', () => {
    async function* numbers(count: number) {
      for (let index = 0; index < count; index++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        runInSpan(`item ${index}`, {}, () => undefined);
        yield index;
      }
    }

    it('ends when iteration ends, with children parented to it', async () => {
      const values: number[] = [];
      const iterable = runInSpan('generator', {}, () => numbers(3));
      expect(ended('generator')).toBe(0);
      for await (const value of iterable) {
        values.push(value);
      }
      expect(values).toEqual([0, 1, 2]);
      tracing.expectSpan('generator', { status: SpanStatusCode.UNSET });
      tracing.expectSpan('item 2', { parent: 'generator' });
    });

    it('ends when iteration is abandoned', async () => {
      for await (const value of runInSpan('abandoned', {}, () => numbers(10))) {
        if (value === 1) {
          break;
        }
      }
      expect(ended('abandoned')).toBe(1);
    });

    it('records an error thrown during iteration', async () => {
      async function* failing() {
        yield 1;
        throw new Error('mid-stream');
      }
      const consume = async () => {
        for await (const _ of runInSpan('failing', {}, failing)) {
          // drain
        }
      };
      await expect(consume()).rejects.toThrow('mid-stream');
      tracing.expectSpan('failing', { status: SpanStatusCode.ERROR });
    });

    it('keeps the API of an async-iterable object and ends when it is iterated', async () => {
      class Cursor extends EventEmitter {
        toArray() {
          return Promise.resolve([1, 2]);
        }
        async *[Symbol.asyncIterator]() {
          yield 1;
          yield 2;
        }
      }
      const cursor = runInSpan('cursor', {}, () => new Cursor());
      expect(cursor).toBeInstanceOf(Cursor);
      expect(await cursor.toArray()).toEqual([1, 2]);
      const values: number[] = [];
      for await (const value of cursor) {
        values.push(value);
      }
      expect(values).toEqual([1, 2]);
      expect(ended('cursor')).toBe(1);
    });

    it('rejects, and ends the span, when the iterable cannot make an iterator', async () => {
      const broken = {
        [Symbol.asyncIterator](): AsyncIterator<number> {
          throw new Error('no iterator');
        },
      };
      const iterable = runInSpan('broken', {}, () => broken);
      await expect(iterable[Symbol.asyncIterator]().next()).rejects.toThrow('no iterator');
      tracing.expectSpan('broken', { status: SpanStatusCode.ERROR });
    });

    it('adds no error listener to a returned stream, and records the error it closes with', async () => {
      const stream = runInSpan('failing stream', {}, () => new Readable({ read() {} }));
      expect(stream.listenerCount('error')).toBe(0);
      stream.on('error', () => undefined);
      stream.destroy(new Error('disk gone'));
      await new Promise((resolve) => stream.once('close', resolve));
      tracing.expectSpan('failing stream', { status: SpanStatusCode.ERROR });
    });

    it('leaves Node streams intact and ends when they end', async () => {
      const stream = runInSpan('stream', {}, () => Readable.from(['a', 'b']));
      expect(typeof stream.pipe).toBe('function');
      const chunks: string[] = [];
      for await (const chunk of stream) {
        chunks.push(chunk as string);
      }
      expect(chunks).toEqual(['a', 'b']);
      await new Promise((resolve) => setImmediate(resolve));
      expect(ended('stream')).toBe(1);
    });
  });

  describe('HTTP exceptions', () => {
    it('does not mark a SERVER span ERROR for a 4xx, but records it', () => {
      expect(() =>
        runInSpan('server 4xx', { kind: SpanKind.SERVER }, () => {
          throw new BadRequestException('bad id');
        }),
      ).toThrow(BadRequestException);
      const span = tracing.expectSpan('server 4xx', {
        status: SpanStatusCode.UNSET,
        attributes: { 'error.type': 'BadRequestException' },
      });
      expect(span.events.map((event) => event.name)).toEqual(['exception']);
    });

    it('marks a SERVER span ERROR for a 5xx', () => {
      expect(() =>
        runInSpan('server 5xx', { kind: SpanKind.SERVER }, () => {
          throw new InternalServerErrorException();
        }),
      ).toThrow();
      tracing.expectSpan('server 5xx', { status: SpanStatusCode.ERROR });
    });

    it('marks an INTERNAL span ERROR for a 4xx', () => {
      expect(() =>
        runInSpan('internal 4xx', {}, () => {
          throw new BadRequestException();
        }),
      ).toThrow();
      tracing.expectSpan('internal 4xx', { status: SpanStatusCode.ERROR });
    });
  });

  describe('with a Subject', () => {
    it('returns the Subject itself and ends the span at once', () => {
      const state = new BehaviorSubject(1);
      const returned = runInSpan('state', {}, () => state);
      expect(returned).toBe(state);
      expect(returned.getValue()).toBe(1);
      expect(tracing.getFinishedSpans().filter((span) => span.name === 'state')).toHaveLength(1);
    });
  });
});
