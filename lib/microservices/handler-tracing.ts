import { context as contextApi } from '@opentelemetry/api';
import { isObservable, tap } from 'rxjs';
import { reportOnce, requireOptional, tracingState, wrapMethod } from '../core';
import { TracingMessages } from '../tracing.messages';
import { messageTraceIn } from './message-trace';

/** The function Nest makes for one message handler: guards, interceptors, pipes and the handler. */
type Handler = (this: unknown, ...args: unknown[]) => unknown;

type CreateHandler = (
  this: unknown,
  instance: object,
  callback: (...args: unknown[]) => unknown,
  moduleKey: string,
  methodName: string,
  ...rest: unknown[]
) => Handler;

type HandleException = (this: unknown, exception: unknown, ...rest: unknown[]) => unknown;

/**
 * @internal Ties the span of each received message to its handler (`nestjs.controller`,
 * `nestjs.handler`) and records any exception Nest's RPC exception handler gets for
 * it (a guard's, a pipe's or the handler's, an `RpcException` included). Done by
 * wrapping `RpcContextCreator.prototype.create` and
 * `RpcExceptionsHandler.prototype.handle` once per process: a global interceptor
 * would make Nest build an rxjs pipeline for every message. The message's trace is
 * found in the active context, where the processing hook put it.
 */
export function instrumentRpcHandlers(): void {
  const creator = requireOptional<{ RpcContextCreator?: { prototype: object } }>(
    '@nestjs/microservices/context/rpc-context-creator',
  );
  const exceptions = requireOptional<{ RpcExceptionsHandler?: { prototype: object } }>(
    '@nestjs/microservices/exceptions/rpc-exceptions-handler',
  );
  if (creator?.RpcContextCreator === undefined || exceptions?.RpcExceptionsHandler === undefined) {
    reportOnce('microservices.handlers', TracingMessages.rpcContextNotFound(), undefined);
    return;
  }
  wrapMethod(creator.RpcContextCreator.prototype, 'create', tracedCreateHandler);
  wrapMethod(exceptions.RpcExceptionsHandler.prototype, 'handle', tracedHandleException);
}

function tracedCreateHandler(create: CreateHandler): CreateHandler {
  return function (this: unknown, instance, callback, moduleKey, methodName, ...rest) {
    const handle = create.call(this, instance, callback, moduleKey, methodName, ...rest);
    const controller = (instance as { constructor?: { name?: string } } | null)?.constructor?.name ?? '';
    const handler = typeof methodName === 'string' ? methodName : callback.name;
    return function tracedHandler(this: unknown, ...args: unknown[]): unknown {
      if (tracingState.enabled) {
        try {
          messageTraceIn(contextApi.active())?.enterHandler(controller, handler);
        } catch (error) {
          reportOnce('microservices.handler', TracingMessages.tracingStepFailed('tie a message to its handler'), error);
        }
      }
      return handle.apply(this, args);
    };
  };
}

function tracedHandleException(handle: HandleException): HandleException {
  return function (this: unknown, exception, ...rest) {
    const messageTrace = messageTraceIn(contextApi.active());
    try {
      messageTrace?.recordError(exception);
    } catch (error) {
      reportOnce('microservices.recordError', TracingMessages.tracingStepFailed("record a message's exception"), error);
    }
    const handled = handle.call(this, exception, ...rest);
    // What Nest sends back: the span ends as the error goes out.
    return messageTrace?.endsAtError === true && isObservable(handled)
      ? handled.pipe(tap({ error: () => messageTrace.end() }))
      : handled;
  };
}
