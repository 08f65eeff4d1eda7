/**
 * The messaging attribute names this package records. They are still in development
 * in the OpenTelemetry semantic conventions (not in the stable entry point of
 * `@opentelemetry/semantic-conventions`), so they live here, in one place.
 *
 * @experimental
 * @see https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/
 */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
/** @experimental */
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
/** @experimental */
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
/** @experimental */
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
/** @experimental */
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
/** @experimental */
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id';
/** @experimental */
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
/** @experimental */
export const ATTR_MESSAGING_KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key';
/** @experimental */
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset';
/** @experimental */
export const ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY = 'messaging.rabbitmq.destination.routing_key';

/** @experimental `messaging.operation.type` of a message sent (the client side). */
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send';
/** @experimental `messaging.operation.type` of a message handled (the server side). */
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process';

/**
 * `messaging.system` per transport: the registered values (`kafka`, `rabbitmq`) and,
 * for transports with none, this package's own (documented in the README).
 */
export const MESSAGING_SYSTEMS = {
  tcp: 'nestjs_tcp',
  redis: 'redis',
  nats: 'nats',
  mqtt: 'mqtt',
  rmq: 'rabbitmq',
  kafka: 'kafka',
} as const;
