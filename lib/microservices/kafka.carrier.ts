import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
} from './semconv';
import { asRecord, callContext, callString, recordHeaders, type TransportCarrier } from './transport-carrier';

interface KafkaMessage {
  key?: unknown;
  offset?: unknown;
  headers?: unknown;
}

function messageOf(context: unknown): KafkaMessage | undefined {
  return callContext(context, 'getMessage') as KafkaMessage | undefined;
}

/** Kafka carries the context in the record headers (`{ key, value, headers }` / `KafkaContext.getMessage().headers`). */
export const KAFKA_CARRIER: TransportCarrier = {
  transport: 'kafka',
  serverClass: 'ServerKafka',
  clientClass: 'ClientKafka',
  pattern: (context) => callString(context, 'getTopic') ?? '',
  incoming: (context) => recordHeaders(messageOf(context)?.headers),
  serverAttributes(context, attributes: Attributes) {
    const message = messageOf(context);
    const partition = callContext(context, 'getPartition');
    if (typeof partition === 'number') {
      attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID] = String(partition);
    }
    if (typeof message?.offset === 'string') {
      attributes[ATTR_MESSAGING_KAFKA_OFFSET] = Number(message.offset);
    }
    const key = Buffer.isBuffer(message?.key) ? message.key.toString('utf8') : message?.key;
    if (typeof key === 'string') {
      attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] = key;
    }
  },
  // What `KafkaRequestSerializer` (or a custom one) made: `{ key?, value, headers }`.
  injectSerialized(serialized, headers) {
    const message = asRecord(serialized);
    return message === undefined ? serialized : { ...message, headers: { ...asRecord(message.headers), ...headers } };
  },
  destination: (_client, pattern) => pattern,
};
