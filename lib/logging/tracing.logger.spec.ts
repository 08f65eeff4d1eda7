import { TracingLogger } from './tracing.logger';

describe('TracingLogger', () => {
  it.each([
    ['(options)', () => new TracingLogger({ json: true, context: 'Ctx' })],
    ['(context, options)', () => new TracingLogger('Ctx', { json: true })],
    [
      '(undefined, options), as ConsoleLogger takes it',
      () => new TracingLogger(undefined as never, { json: true, context: 'Ctx' }),
    ],
  ])('reads its options given as %s', (_form, create) => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      create().log('hello');
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(written[0])).toMatchObject({ level: 'log', message: 'hello', context: 'Ctx' });
  });
});
