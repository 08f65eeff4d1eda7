/** Query-string keys that hold a secret whenever they contain one of these (lower-cased). */
const SECRET_KEY_FRAGMENTS = ['token', 'password', 'passwd', 'secret', 'api_key', 'apikey', 'api-key'];

/** Query-string keys that hold a secret (lower-cased). */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'auth',
  'authorization',
  'key',
  'sig',
  'signature',
  'code',
  'credential',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
  'awsaccesskeyid',
]);

/** What replaces a secret value, as the semantic conventions ask. */
export const REDACTED = 'REDACTED';

/**
 * `query` (without the `?`) with the value of every secret-looking key replaced by
 * `REDACTED`; keys, order and the other values stay as they were sent.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/registry/attributes/url/#url-query
 */
export function redactQuery(query: string, extraKeys: ReadonlySet<string>): string {
  const pairs = query.split('&');
  let redacted = false;
  for (let index = 0; index < pairs.length; index++) {
    const pair = pairs[index];
    const equals = pair.indexOf('=');
    const key = decodeKey(equals === -1 ? pair : pair.slice(0, equals));
    if (equals !== -1 && isSecretKey(key, extraKeys)) {
      pairs[index] = `${pair.slice(0, equals)}=${REDACTED}`;
      redacted = true;
    }
  }
  return redacted ? pairs.join('&') : query;
}

function isSecretKey(key: string, extraKeys: ReadonlySet<string>): boolean {
  return SECRET_KEYS.has(key) || extraKeys.has(key) || SECRET_KEY_FRAGMENTS.some((fragment) => key.includes(fragment));
}

function decodeKey(key: string): string {
  const spaced = key.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced).toLowerCase();
  } catch {
    return spaced.toLowerCase();
  }
}
