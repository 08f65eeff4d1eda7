import { TracingError } from './tracing.error';
import { resolveTracingOptions } from './tracing.options';

describe('resolveTracingOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveTracingOptions(undefined)).toMatchObject({ enabled: true, http: { enabled: true } });
    expect(resolveTracingOptions({})).toMatchObject({ enabled: true });
    expect(resolveTracingOptions({ enabled: false })).toMatchObject({ enabled: false });
  });

  it('fills in the HTTP defaults', () => {
    expect(resolveTracingOptions({}).http).toEqual({
      enabled: true,
      ignore: undefined,
      requestHeaders: [],
      responseHeaders: [],
      redactQueryParams: new Set(),
      trustIncomingContext: true,
      responseHeader: 'traceresponse',
      spanNameHook: undefined,
      requestHook: undefined,
    });
  });

  it('never records credential headers, whatever the allow-list says', () => {
    const { http } = resolveTracingOptions({
      http: { requestHeaders: ['X-Request-Id', 'Authorization', 'cookie'], responseHeaders: ['Set-Cookie', 'etag'] },
    });
    expect(http.requestHeaders).toEqual([['x-request-id', 'http.request.header.x-request-id']]);
    expect(http.responseHeaders).toEqual([['etag', 'http.response.header.etag']]);
  });

  it('turns the response header off with false and renames it with a string', () => {
    expect(resolveTracingOptions({ http: { responseHeader: false } }).http.responseHeader).toBeUndefined();
    expect(resolveTracingOptions({ http: { responseHeader: 'x-trace' } }).http.responseHeader).toBe('x-trace');
  });

  it('matches ignored paths exactly or by RegExp, global ones included', () => {
    const ignore = resolveTracingOptions({ http: { ignore: ['/health', /^\/metrics/g] } }).http.ignore!;
    const request = {} as never;
    expect(ignore('/health', request)).toBe(true);
    expect(ignore('/health/db', request)).toBe(false);
    expect(ignore('/metrics', request)).toBe(true);
    expect(ignore('/metrics', request)).toBe(true);
    expect(ignore('/users', request)).toBe(false);
  });

  it.each([
    [{ enabled: 'yes' }, 'the option "enabled" is the string "yes". Make sure to pass true or false.'],
    [{ enabled: 1 }, 'the option "enabled" is the number 1. Make sure to pass true or false.'],
    [
      { enabel: true },
      '"enabel" is not an option. Make sure to use only "enabled", "http", "microservices", "autoInstrument".',
    ],
    [{ http: true }, 'the option "http" is the boolean true. Make sure to pass an object.'],
    [{ http: { ignroe: [] } }, '"http.ignroe" is not an option. Make sure to use only "http.enabled", "http.ignore",'],
    [{ http: { ignore: [1] } }, 'the option "http.ignore" is an array. Make sure to pass an array of paths'],
    [{ http: { requestHeaders: ['bad header'] } }, 'the option "http.requestHeaders" is an array.'],
    [{ http: { responseHeader: true } }, 'the option "http.responseHeader" is the boolean true.'],
    [{ http: { trustIncomingContext: 'no' } }, 'Make sure to pass true, false or a function.'],
    [{ microservices: { ignore: 'users.get' } }, 'the option "microservices.ignore" is the string "users.get".'],
    [{ microservices: { trustIncomingContext: 1 } }, 'Make sure to pass true, false or a function.'],
    [{ http: { requestHook: {} } }, 'the option "http.requestHook" is an object. Make sure to pass a function.'],
    ['on', 'its options are the string "on". Make sure to pass an object'],
    [[], 'its options are an array.'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveTracingOptions(options)).toThrow(TracingError);
    expect(() => resolveTracingOptions(options)).toThrow(message);
  });

  it('names the error after its class', () => {
    expect(() => resolveTracingOptions({ nope: 1 })).toThrow(expect.objectContaining({ name: 'TracingError' }));
  });
});
