/**
 * Every message the package shows a user. Each says what went wrong, why, and what
 * to do about it.
 */
export const TracingMessages = {
  invalidOption: (path: string, given: string, allowed: string) =>
    `Cannot start TracingModule because the option "${path}" is ${given}. ` + `Make sure to pass ${allowed}.`,
  unknownOption: (path: string, allowed: readonly string[]) =>
    `Cannot start TracingModule because "${path}" is not an option. ` +
    `Make sure to use only ${allowed.map((key) => `"${key}"`).join(', ')}.`,
  notAnObject: (given: string) =>
    `Cannot start TracingModule because its options are ${given}. ` +
    'Make sure to pass an object (or nothing) to TracingModule.forRoot() or return one from forRootAsync().',
  tracedOnNonMethod: (target: string) =>
    `Cannot apply @Traced() to ${target} because it is not a method. ` +
    'Make sure to decorate a class or a method (not a getter, setter or property).',
  testTracingActive: () =>
    'Cannot set up test tracing because a previous setupTestTracing() is still active. ' +
    'Make sure to call shutdown() on it (for example in afterAll) before setting up again.',
  noRequestHook: () =>
    'Cannot start HTTP spans before middleware and guards because the HTTP adapter has no setOnRequestHook() ' +
    '(it needs @nestjs/platform-express or @nestjs/platform-fastify >= 11.1.4). ' +
    'Spans start when a request reaches its route instead; make sure to upgrade the adapter to cover the whole request.',
  routerNotFound: () =>
    'Cannot name HTTP spans after their route because this @nestjs/core has no RouterExecutionContext or ' +
    'ExceptionsHandler module. Requests are still traced; make sure @nestjs/core is 11.1.4 or later.',
  rpcContextNotFound: () =>
    'Cannot tie microservice spans to their handler because this @nestjs/microservices has no RpcContextCreator or ' +
    'RpcExceptionsHandler module. Messages are still traced; make sure @nestjs/microservices is 11.1.4 or later.',
  shutdownExportFailed: () =>
    'Cannot export the spans still queued at shutdown because the exporter failed; they are dropped. ' +
    'Make sure the collector the exporter points at is reachable.',
  tracingStepFailed: (step: string) =>
    `Cannot ${step} because the tracing code threw. The app goes on as it would untraced; ` +
    'make sure the OpenTelemetry components the app registers do not throw, else report this with the error.',
  requestTracingFailed: () =>
    'Cannot trace an HTTP request because starting its span threw (in the propagator, the sampler or a span ' +
    'processor). The request goes on untraced; make sure the OpenTelemetry components the app registers do not throw.',
  messageTracingFailed: () =>
    'Cannot trace a microservice message because starting its span threw (in the propagator, the sampler or a ' +
    'span processor). The message is handled untraced; make sure the OpenTelemetry components the app registers do not throw.',
  adoptedSpanOptions: (options: readonly string[]) =>
    `The SERVER spans of HTTP requests come from @opentelemetry/instrumentation-http, so the option(s) ` +
    `${options.map((option) => `"http.${option}"`).join(', ')} of TracingModule do not apply to them. ` +
    "Make sure to set the instrumentation's own ignoreIncomingRequestHook / requireParentforIncomingSpans / requestHook instead.",
  missingPackage: (forWhat: string, packageName: string) =>
    `Cannot ${forWhat} because the package ${packageName} is not installed. ` +
    `Make sure to install it: npm install ${packageName}`,
  unknownSdkValue: (what: string, given: string, allowed: readonly string[]) =>
    `Cannot start tracing because ${what} "${given}" is not one this package knows. ` +
    `Make sure to use one of ${allowed.map((value) => `"${value}"`).join(', ')}.`,
  waterfallFailed: () =>
    'Cannot print a trace as a waterfall because drawing or writing it threw. The trace is dropped; ' +
    "make sure the exporter's write function does not throw.",
  otlpProtocol: (protocol: string) =>
    `The OTLP exporter of startTracing() sends HTTP/protobuf, but OTEL_EXPORTER_OTLP(_TRACES)_PROTOCOL is "${protocol}". ` +
    'Make sure the endpoint takes HTTP/protobuf (port 4318 on a collector), or pass your own exporter.',
  hookFailed: (hook: string) => `The ${hook} threw; it is ignored and the call goes on untouched.`,
};
