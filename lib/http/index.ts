export { HttpServerTracer } from './http-server.tracer';
export {
  HTTP_OPTION_CHECKS,
  resolveHttpOptions,
  type HttpIgnoreRule,
  type HttpRequest,
  type HttpTracingOptions,
  type ResolvedHttpTracingOptions,
} from './http-tracing.options';
