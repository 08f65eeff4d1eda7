export { HttpServerTracer } from './http-server.tracer';
export {
  HTTP_OPTION_CHECKS,
  resolveHttpOptions,
  TRACE_RESPONSE_HEADER,
  type HttpIgnoreRule,
  type HttpRequest,
  type HttpTracingOptions,
  type ResolvedHttpTracingOptions,
} from './http-tracing.options';
