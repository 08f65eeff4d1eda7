import { ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY } from './semconv';
import { asRecord, callContext, callString, recordHeaders, type TransportCarrier } from './transport-carrier';

interface AmqpMessage {
  fields?: { routingKey?: unknown; exchange?: unknown };
  properties?: { headers?: unknown; messageId?: unknown };
}

function messageOf(context: unknown): AmqpMessage | undefined {
  return callContext(context, 'getMessage') as AmqpMessage | undefined;
}

/** RabbitMQ carries the context in the AMQP message headers (`RmqRecordBuilder.setOptions({ headers })`). */
export const RMQ_CARRIER: TransportCarrier = {
  transport: 'rmq',
  serverClass: 'ServerRMQ',
  clientClass: 'ClientRMQ',
  pattern: (context) => callString(context, 'getPattern') ?? '',
  incoming: (context) => recordHeaders(messageOf(context)?.properties?.headers),
  serverAttributes(context, attributes) {
    const routingKey = messageOf(context)?.fields?.routingKey;
    if (typeof routingKey === 'string' && routingKey !== '') {
      attributes[ATTR_MESSAGING_DESTINATION_NAME] = routingKey;
      attributes[ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY] = routingKey;
    }
  },
  // What `RmqRecordSerializer` (or a custom one) made: the packet, with the record's `options`.
  injectSerialized(serialized, headers) {
    const packet = asRecord(serialized);
    if (packet === undefined) {
      return serialized;
    }
    const options = asRecord(packet.options);
    return { ...packet, options: { ...options, headers: { ...asRecord(options?.headers), ...headers } } };
  },
  destination: (client) => {
    const queue = (client as { queue?: unknown }).queue;
    return typeof queue === 'string' ? queue : '';
  },
};
