/**
 * The Jest globals the e2e specs use (`describe`, `it`, `beforeAll`, …, `expect`,
 * `.each`), on Node's own test runner: the Nest 12 run executes the specs, compiled to
 * ES modules, in plain Node, because Jest on Node 20 cannot `require()` an ES module
 * and Nest 12 is ESM only. Loaded with `node --import` before each spec.
 */
import { register } from 'node:module';
import { after, afterEach, before, beforeEach, describe as suite, it as test } from 'node:test';
import { format } from 'node:util';
import { expect } from 'expect';

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
  const args = Array.isArray(row) ? row : [row];
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

type TestFn = (title: string, fn?: Body, timeout?: number) => void;
/** `test`, `describe` and their `.skip` / `.only` in node:test. */
type Register = (
  title: string,
  options: { timeout?: number; todo?: boolean },
  fn?: () => void | Promise<void>,
) => unknown;
type Hook = (fn: () => void | Promise<void>, options: { timeout?: number }) => unknown;

function testFunction(register: Register): TestFn {
  return (title, fn, timeout) => {
    if (fn === undefined) {
      void register(title, { todo: true });
      return;
    }
    void register(title, { timeout: timeout ?? DEFAULT_TIMEOUT_MS }, runBody(fn));
  };
}

function withEach<T extends TestFn>(define: T): T & { each: (table: readonly Row[]) => T } {
  return Object.assign(define, {
    each:
      (table: readonly Row[]) =>
      (title: string, fn: Body, timeout?: number): void => {
        table.forEach((row, index) =>
          define(rowTitle(title, row, index), (() => fn(...rowArgs(row))) as Body, timeout),
        );
      },
  }) as T & { each: (table: readonly Row[]) => T };
}

function suiteFunction(register: Register): TestFn {
  return (title, fn) => {
    void register(title, {}, () => {
      fn?.();
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
  only: withEach(testFunction(test.only)),
  todo: (title: string) => void test(title, { todo: true }),
});

const describe = Object.assign(withEach(suiteFunction(suite)), {
  skip: withEach(suiteFunction(suite.skip)),
  only: withEach(suiteFunction(suite.only)),
});

Object.assign(globalThis, {
  describe,
  it,
  test: it,
  beforeAll: hook(before),
  afterAll: hook(after),
  beforeEach: hook(beforeEach),
  afterEach: hook(afterEach),
  expect,
});
