import { createContextKey, SpanStatusCode, type Context, type Span, type SpanKind } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { NestAttributes, recordError } from '../core';

/** `error.type` of a message whose handler had not answered when the app shut down. */
const SHUTDOWN_ERROR_TYPE = 'shutdown';

/** The context key under which a received message's `MessageTrace` sits while Nest handles it. */
export const MESSAGE_TRACE = createContextKey('nestjs-tracing message trace');

/**
 * The SERVER or CONSUMER span of one received message, and what is learnt about it
 * while Nest handles it. Ends the span once.
 */
export class MessageTrace {
  private handled = false;
  private failed = false;
  private ended = false;
  private followsReplies = false;

  constructor(
    readonly span: Span,
    private readonly kind: SpanKind,
    /** Whether Nest's processing-end hook will be called for this message (else it ends with `done()`). */
    readonly endsAtHook: boolean,
    /**
     * Whether the span ends as soon as Nest's exception handler hands its error on: a
     * gRPC call (Nest 11.1 skips the end hook when a unary handler fails; for the other
     * calls it only ends the span a moment before the end hook would).
     */
    readonly endsAtError: boolean,
    /** The traces of the server's messages still being handled: this one until it ends. */
    private readonly inFlight: Set<MessageTrace>,
  ) {
    inFlight.add(this);
  }

  /** Marks the message as reaching `controller.handler`; `false` when one was already entered. */
  enterHandler(controller: string, handler: string): boolean {
    if (this.handled) {
      return false;
    }
    this.handled = true;
    if (this.span.isRecording()) {
      this.span.setAttribute(NestAttributes.CONTROLLER, controller);
      this.span.setAttribute(NestAttributes.HANDLER, handler);
    }
    return true;
  }

  /** Records the first error of the message: exception event, `error.type`, status ERROR. */
  recordError(error: unknown): void {
    if (this.failed) {
      return;
    }
    this.failed = true;
    recordError(this.span, error, this.kind);
  }

  /**
   * Hands the end of the span to the stream of replies (it ends when the stream
   * does, and records the stream's error), instead of the first reply.
   */
  followReplies(): void {
    this.followsReplies = true;
  }

  /** Ends the span at a reply, unless it follows the whole stream of replies. */
  endAtReply(): void {
    if (!this.followsReplies) {
      this.end();
    }
  }

  end(): void {
    if (!this.ended) {
      this.ended = true;
      this.inFlight.delete(this);
      this.span.end();
    }
  }

  /** Ends the span of a message the app shut down before its handler answered. */
  abandon(): void {
    if (!this.ended && this.span.isRecording()) {
      this.span.setAttribute(ATTR_ERROR_TYPE, SHUTDOWN_ERROR_TYPE);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: 'The app shut down before the handler answered' });
    }
    this.end();
  }
}

/** The `MessageTrace` of the message being handled in `context`, if any. */
export function messageTraceIn(context: Context): MessageTrace | undefined {
  const found = context.getValue(MESSAGE_TRACE);
  return found instanceof MessageTrace ? found : undefined;
}
