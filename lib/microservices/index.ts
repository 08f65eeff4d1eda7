export { messageTraceIn } from './message-trace';
export { MicroserviceClientTracer } from './microservice-client.tracer';
export { MicroserviceServerTracer } from './microservice-server.tracer';
export {
  MICROSERVICES_OPTION_CHECKS,
  resolveMicroservicesOptions,
  type MessageInfo,
  type MicroservicesTracingOptions,
  type ResolvedMicroservicesTracingOptions,
} from './microservices-tracing.options';
