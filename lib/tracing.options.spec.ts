import { TracingError } from './tracing.error';
import { resolveTracingOptions } from './tracing.options';

describe('resolveTracingOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveTracingOptions(undefined)).toEqual({ enabled: true });
    expect(resolveTracingOptions({})).toEqual({ enabled: true });
    expect(resolveTracingOptions({ enabled: false })).toEqual({ enabled: false });
  });

  it.each([
    [{ enabled: 'yes' }, 'the option "enabled" is the string "yes". Make sure to pass true or false.'],
    [{ enabled: 1 }, 'the option "enabled" is the number 1. Make sure to pass true or false.'],
    [{ enabel: true }, '"enabel" is not an option. Make sure to use only "enabled".'],
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
