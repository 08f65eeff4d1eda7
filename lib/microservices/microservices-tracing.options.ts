import type { Span } from '@opentelemetry/api';
import { BOOLEAN_CHECK, FUNCTION_CHECK, ignoreCheck, rulesMatcher, TRUST_CHECK, type OptionCheck } from '../core';

/** What a microservice hook or predicate is told about a message. */
export interface MessageInfo {
  /** The message's pattern as Nest routes it, e.g. `users.get` or `{"cmd":"sum"}`. */
  readonly pattern: string;
  /** The transport: `tcp`, `redis`, `nats`, `mqtt`, `rmq`, `kafka`, `grpc`, or `custom`. */
  readonly transport: string;
  /**
   * On the server, the transport's RPC context (`TcpContext`, `RmqContext`,
   * `KafkaContext`, …; the call for gRPC); on the client, `undefined`.
   */
  readonly context: unknown;
}

/** Options of microservice tracing, under `microservices` in `TracingModule.forRoot()`. */
export interface MicroservicesTracingOptions {
  /**
   * Whether messages get spans: a SERVER (`@MessagePattern`) or CONSUMER
   * (`@EventPattern`) span where they are handled, a CLIENT (`send()`) or PRODUCER
   * (`emit()`) span where they are sent, with the trace context carried between them.
   * Default: `true`.
   */
  enabled?: boolean;
  /**
   * Patterns to leave untraced on both sides: a string matches the pattern exactly, a
   * RegExp is tested on it; or a predicate. An ignored message gets no span, its
   * context is not carried, and nothing its handler calls is traced.
   * Default: nothing is ignored.
   */
  ignore?: (string | RegExp)[] | ((message: MessageInfo) => boolean);
  /**
   * Whether a message may join the trace its sender carried in it. When not trusted,
   * its span starts a new trace and links to the sender's context. A predicate decides
   * per message.
   * Default: `true`.
   */
  trustIncomingContext?: boolean | ((message: MessageInfo) => boolean);
  /**
   * Called when the span of a message starts, on either side, to add attributes from
   * the message. A throw is logged once and ignored.
   * Default: none.
   */
  messageHook?: (span: Span, message: MessageInfo) => void;
}

/** @internal The microservice options with every default filled in. */
export interface ResolvedMicroservicesTracingOptions {
  readonly enabled: boolean;
  readonly ignore: ((message: MessageInfo) => boolean) | undefined;
  readonly trustIncomingContext: boolean | ((message: MessageInfo) => boolean);
  readonly messageHook: MicroservicesTracingOptions['messageHook'];
}

/** The checks `resolveTracingOptions` runs on each `microservices` option. */
export const MICROSERVICES_OPTION_CHECKS: Readonly<Record<keyof MicroservicesTracingOptions, OptionCheck>> = {
  enabled: BOOLEAN_CHECK,
  ignore: ignoreCheck('patterns'),
  trustIncomingContext: TRUST_CHECK,
  messageHook: FUNCTION_CHECK,
};

/** @internal Fills in the defaults of options that `MICROSERVICES_OPTION_CHECKS` passed. */
export function resolveMicroservicesOptions(
  given: MicroservicesTracingOptions = {},
): ResolvedMicroservicesTracingOptions {
  return {
    enabled: given.enabled ?? true,
    ignore: patternMatcher(given.ignore),
    trustIncomingContext: given.trustIncomingContext ?? true,
    messageHook: given.messageHook,
  };
}

function patternMatcher(
  ignore: MicroservicesTracingOptions['ignore'],
): ((message: MessageInfo) => boolean) | undefined {
  if (typeof ignore === 'function' || ignore === undefined) {
    return ignore;
  }
  const matches = rulesMatcher(ignore);
  return matches === undefined ? undefined : ({ pattern }) => matches(pattern);
}
