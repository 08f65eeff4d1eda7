/**
 * The Jest globals the e2e specs use (`describe`, `it`, `beforeAll`, …, `expect`,
 * `.each`), on Node's own test runner: the runs on other Nest versions execute the
 * specs, compiled to ES modules, in plain Node, because Jest on Node 20 cannot
 * `require()` an ES module and Nest 12 is ESM only. Loaded with `node --import`
 * before each spec. What the specs do not use (`.only`, snapshots, module mocks) is left
 * out, so that using it fails instead of being ignored.
 */
import { register } from 'node:module';
import { after, afterEach, before, beforeEach, describe as suite, it as test } from 'node:test';
import { format } from 'node:util';
import { expect } from 'expect';
import { ModuleMocker } from 'jest-mock';

register('./extensionless.js', import.meta.url);

/** Jest's default timeout of a test or hook; node:test has none. */
const DEFAULT_TIMEOUT_MS = 5000;

type Body = (...args: unknown[]) => unknown;
type Row = unknown;

/** Runs a Jest test or hook body: a `done` callback when it declares one, else its promise. */
function runBody(fn: Body): () => Promise<void> {
  if (fn.length === 0) {
    return async () => {
      await fn();
    };
  }
  return () =>
    new Promise<void>((resolve, reject) => {
      fn((error?: unknown) => (error === undefined || error === null ? resolve() : reject(error)));
    });
}

/** A test body that also checks `expect.assertions(n)` / `expect.hasAssertions()`, as Jest does. */
function runTest(fn: Body): () => Promise<void> {
  const body = runBody(fn);
  return async () => {
    expect.setState({ assertionCalls: 0, expectedAssertionsNumber: null, isExpectingAssertions: false });
    await body();
    const [unmet] = expect.extractExpectedAssertionsErrors();
    if (unmet !== undefined) {
      throw unmet.error;
    }
  };
}

/** The title of one row of a `.each` table, as Jest formats it (`%s`, `%p`, `$key`, …). */
function rowTitle(title: string, row: Row, index: number): string {
  if (!Array.isArray(row) && typeof row === 'object' && row !== null) {
    return title.replace(/\$#/g, String(index)).replace(/\$([A-Za-z_]\w*(?:\.\w+)*)/g, (_match, path: string) =>
      format(
        '%s',
        path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown>)?.[key], row),
      ),
    );
  }
  const args = rowArgs(row);
  let next = 0;
  return title.replace(/%[sdifjopP#%]/g, (token) => {
    if (token === '%%') {
      return '%';
    }
    if (token === '%#') {
      return String(index);
    }
    const value = args[next++];
    return token === '%p' ? format('%o', value) : format(token === '%P' ? '%s' : token, value);
  });
}

function rowArgs(row: Row): unknown[] {
  return Array.isArray(row) ? row : [row];
}

/** `fn` bound to one row of a table; it still takes Jest's `done` when it declares one more parameter. */
function bindRow(fn: Body, row: Row): Body {
  const args = rowArgs(row);
  return fn.length > args.length ? (done: unknown) => fn(...args, done) : () => fn(...args);
}

type TestFn = (title: string, fn?: Body, timeout?: number) => void;
/** `test`, `describe` and their `.skip` in node:test. */
type Register = (
  title: string,
  options: { timeout?: number; todo?: boolean },
  fn?: () => void | Promise<void>,
) => unknown;
type Hook = (fn: () => void | Promise<void>, options: { timeout?: number }) => unknown;

function testFunction(register: Register): TestFn {
  return (title, fn, timeout) => {
    if (typeof fn !== 'function') {
      throw new TypeError(`Missing second argument of test "${title}". It must be a callback function.`);
    }
    void register(title, { timeout: timeout ?? DEFAULT_TIMEOUT_MS }, runTest(fn));
  };
}

function withEach<T extends TestFn>(define: T): T & { each: (table: readonly Row[]) => T } {
  return Object.assign(define, {
    each:
      (table: readonly Row[]) =>
      (title: string, fn: Body, timeout?: number): void => {
        table.forEach((row, index) => define(rowTitle(title, row, index), bindRow(fn, row), timeout));
      },
  }) as T & { each: (table: readonly Row[]) => T };
}

function suiteFunction(register: Register): TestFn {
  return (title, fn) => {
    void register(title, {}, () => {
      const result = fn?.() as { then?: unknown } | undefined;
      if (typeof result?.then === 'function') {
        throw new TypeError(`describe "${title}" returned a promise: its tests must be defined synchronously.`);
      }
    });
  };
}

function hook(register: Hook) {
  return (fn: Body, timeout?: number): void => {
    register(runBody(fn), { timeout: timeout ?? DEFAULT_TIMEOUT_MS });
  };
}

const it = Object.assign(withEach(testFunction(test)), {
  skip: withEach(testFunction(test.skip)),
  todo: (title: string) => void test(title, { todo: true }),
});

const describe = Object.assign(withEach(suiteFunction(suite)), {
  skip: withEach(suiteFunction(suite.skip)),
});

const mocker = new ModuleMocker(globalThis);

Object.assign(globalThis, {
  /** `jest.fn()` and `jest.spyOn()`, from Jest's own `jest-mock`. */
  jest: { fn: mocker.fn.bind(mocker), spyOn: mocker.spyOn.bind(mocker) },
  describe,
  it,
  test: it,
  beforeAll: hook(before),
  afterAll: hook(after),
  beforeEach: hook(beforeEach),
  afterEach: hook(afterEach),
  expect,
});
