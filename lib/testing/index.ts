export { renderSpanTree } from './render-span-tree';
export {
  setupTestTracing,
  type ExpectedSpan,
  type SpanMatcher,
  type TestTracing,
  type TestTracingOptions,
} from './setup-test-tracing';
