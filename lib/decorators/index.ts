export { CurrentSpan } from './current-span.decorator';
export { Traced, type TracedOptions } from './traced.decorator';
export { Untraced } from './untraced.decorator';
