/**
 * A deterministic corpus of incoming trace-context values, well formed and not:
 * `traceparent`, `tracestate`, `baggage`, `b3`, `X-B3-*` and `uber-trace-id`, each
 * with what a receiver must make of it by the family's own spec (W3C Trace Context,
 * W3C Baggage, B3, Jaeger). Hand-picked values first, then values generated from a
 * seeded PRNG (mulberry32): the same seed gives the same corpus on every run.
 */

/** One header's value; an array is the same header sent several times. */
export type HeaderValue = string | readonly string[];

/** Header names are lower-case, as Node hands them to the app. */
export type ContextHeaders = Readonly<Record<string, HeaderValue>>;

/**
 * What a receiver must do with a value:
 * - `join`: the value is valid by its spec, the span continues that trace;
 *   `sampled` is the caller's decision when the spec gives one.
 * - `root`: there is no usable context in it, the span starts a new trace.
 * - `either`: invalid by the spec but a lenient reader may still find a context in
 *   it; a join must then adopt ids the caller really sent (see `idWasSent`).
 */
export type Expectation =
  | { readonly kind: 'join'; readonly traceId: string; readonly parentId: string; readonly sampled?: boolean }
  | { readonly kind: 'root' }
  | { readonly kind: 'either' };

export const FAMILIES = ['traceparent', 'tracestate', 'baggage', 'b3', 'x-b3', 'uber-trace-id', 'mixed'] as const;
export type Family = (typeof FAMILIES)[number];

export interface ContextCase {
  readonly family: Family;
  /** What the value is, for failure messages. */
  readonly label: string;
  readonly headers: ContextHeaders;
  readonly expect: Expectation;
}

/** The seed of the corpus the suites send. */
export const CONTEXT_SEED = 0x5eed_2026;

const HEX = '0123456789abcdef';
const UPPER_HEX = '0123456789ABCDEF';
const NON_HEX = 'ghijklmnopqrstuvwxyzGHXZ_.:;,=/+!~*%#@';
const UNICODE = ['é', 'ß', '€', '中', '😀', '\u00a0', '\u2028', '\ufeff', 'ａ', '٣', '\u0301', 'İ', 'ﬀ'];
const WHITESPACE = [' ', '\t', '  ', ' \t '];
/** Characters no HTTP header value may hold; only message carriers get them. */
const CONTROL = ['\u0000', '\u0007', '\u001f', '\u007f', '\r', '\n', '\r\n'];
const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, index) => String.fromCharCode(0x20 + index)).join('');

/** 64 KiB: the size of the oversized values. */
export const HUGE = 64 * 1024;

/** mulberry32: a small, fast, seedable PRNG. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  string(alphabet: string | readonly string[], length: number): string {
    let result = '';
    for (let index = 0; index < length; index++) {
      result += alphabet[this.int(alphabet.length)];
    }
    return result;
  }

  /** A copy of `items` in a random order (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let index = copy.length - 1; index > 0; index--) {
      const other = this.int(index + 1);
      [copy[index], copy[other]] = [copy[other], copy[index]];
    }
    return copy;
  }

  /** Lower-case hex that is not all zeros. */
  id(length: number): string {
    for (;;) {
      const id = this.string(HEX, length);
      if (!isZero(id)) {
        return id;
      }
    }
  }
}

const isZero = (id: string): boolean => /^0+$/.test(id);
const isLowerHex = (value: string, length: number): boolean =>
  value.length === length && /^[0-9a-f]+$/.test(value) && !isZero(value);
const pad = (id: string, length: number): string => id.padStart(length, '0');
const OWS = /^[ \t]+|[ \t]+$/g;

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------
// What each spec says of a value.
// ---------------------------------------------------------------------------------

type Parsed = { traceId: string; parentId: string; sampled?: boolean };

/** W3C Trace Context `traceparent`, by the spec (version 00 exact, later versions may append `-...`). */
export function parseTraceparent(value: string): Parsed | undefined {
  if (value.length < 55) {
    return undefined;
  }
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value.slice(0, 55));
  if (match === null || match[1] === 'ff' || isZero(match[2]) || isZero(match[3])) {
    return undefined;
  }
  // A later version may append fields after a dash; what they hold is not this version's to judge.
  const rest = value.slice(55);
  if (match[1] === '00' ? rest !== '' : rest !== '' && !rest.startsWith('-')) {
    return undefined;
  }
  return { traceId: match[2], parentId: match[3], sampled: (parseInt(match[4], 16) & 1) === 1 };
}

/** B3 single header: `{trace}-{span}[-{sampling}[-{parent}]]`, ids lower-hex. (`0`, `1`, `d` alone carry no ids.) */
export function parseB3Single(value: string): Parsed | undefined {
  const match = /^([0-9a-f]{32}|[0-9a-f]{16})-([0-9a-f]{16})(?:-([01d])(?:-([0-9a-f]{16}))?)?$/.exec(value);
  if (match === null || isZero(match[1]) || isZero(match[2]) || (match[4] !== undefined && isZero(match[4]))) {
    return undefined;
  }
  const sampling = match[3];
  return {
    traceId: pad(match[1], 32),
    parentId: match[2],
    sampled: sampling === undefined ? undefined : sampling !== '0',
  };
}

/** B3 multiple headers: `X-B3-TraceId` (16 or 32 lower-hex), `X-B3-SpanId`, optional `X-B3-Sampled` (0/1), `X-B3-Flags` (1). */
export function parseB3Multi(headers: ContextHeaders): Parsed | undefined {
  const values = ['x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-flags', 'x-b3-parentspanid'].map(
    (name) => headers[name],
  );
  if (values.some((value) => Array.isArray(value))) {
    return undefined;
  }
  const [traceId, spanId, sampled, flags, parent] = values as (string | undefined)[];
  if (
    traceId === undefined ||
    spanId === undefined ||
    !(isLowerHex(traceId, 32) || isLowerHex(traceId, 16)) ||
    !isLowerHex(spanId, 16) ||
    (sampled !== undefined && sampled !== '0' && sampled !== '1') ||
    (flags !== undefined && flags !== '1') ||
    (parent !== undefined && !isLowerHex(parent, 16))
  ) {
    return undefined;
  }
  return {
    traceId: pad(traceId, 32),
    parentId: spanId,
    sampled: flags === '1' || sampled === '1' ? true : sampled === '0' ? false : undefined,
  };
}

/**
 * Jaeger `uber-trace-id`: `{trace}:{span}:{parent}:{flags}`, url-encoded or not;
 * ids are hex of up to 32 / 16 digits, zero-padded on the left (the spec does not
 * restrict their case); flags one byte in hex, bit 0 is sampled.
 */
export function parseUberTraceId(value: string): Parsed | undefined {
  const decoded = safeDecode(value);
  const parts = decoded?.split(':');
  if (parts?.length !== 4) {
    return undefined;
  }
  const [traceId, spanId, parent, flags] = parts;
  if (
    !/^[0-9a-fA-F]{1,32}$/.test(traceId) ||
    !/^[0-9a-fA-F]{1,16}$/.test(spanId) ||
    !/^[0-9a-fA-F]{1,16}$/.test(parent) ||
    !/^[0-9a-fA-F]{1,2}$/.test(flags) ||
    isZero(traceId) ||
    isZero(spanId)
  ) {
    return undefined;
  }
  return {
    traceId: pad(traceId.toLowerCase(), 32),
    parentId: pad(spanId.toLowerCase(), 16),
    sampled: (parseInt(flags, 16) & 1) === 1,
  };
}

const join = (parsed: Parsed): Expectation => ({ kind: 'join', ...parsed });
const ROOT: Expectation = { kind: 'root' };
const EITHER: Expectation = { kind: 'either' };

/** The expectation for a `traceparent` value alone. */
function traceparentExpectation(value: HeaderValue): Expectation {
  if (typeof value !== 'string') {
    return EITHER;
  }
  const parsed = parseTraceparent(value);
  if (parsed !== undefined) {
    // A line break in a later version's fields: no HTTP header holds one, so readers may refuse it.
    return /[\n\r\u2028\u2029]/.test(value) ? EITHER : join(parsed);
  }
  // HTTP trims optional whitespace, and a reader may skip one white-space character.
  const trimmed = [value.replace(OWS, ''), value.trim(), value.replace(/^\s/, '').replace(/\s$/, '')];
  return trimmed.some((candidate) => parseTraceparent(candidate) !== undefined) ? EITHER : ROOT;
}

/** The expectation for a `b3` value alone: no `{16 hex}-{16 hex}` in it at all leaves no ids to join. */
function b3Expectation(value: HeaderValue): Expectation {
  if (typeof value !== 'string') {
    return EITHER;
  }
  const parsed = parseB3Single(value);
  if (parsed !== undefined) {
    return join(parsed);
  }
  return /[0-9a-fA-F]{16}-[0-9a-fA-F]{16}/.test(value) ? EITHER : ROOT;
}

/** The expectation for `X-B3-*` headers alone: ids that cannot be hex ids (or are zeros) leave nothing to join. */
function b3MultiExpectation(headers: ContextHeaders): Expectation {
  const parsed = parseB3Multi(headers);
  if (parsed !== undefined) {
    return join(parsed);
  }
  const first = (name: string): string | undefined => {
    const value = headers[name];
    return (typeof value === 'string' ? value : value?.[0])?.trim();
  };
  const traceId = first('x-b3-traceid');
  const spanId = first('x-b3-spanid');
  const possible =
    traceId !== undefined &&
    spanId !== undefined &&
    /^[0-9a-fA-F]{1,32}$/.test(traceId) &&
    !isZero(traceId) &&
    /^[0-9a-fA-F]{1,16}$/.test(spanId) &&
    !isZero(spanId);
  return possible ? EITHER : ROOT;
}

/** The expectation for an `uber-trace-id` value alone. */
function uberExpectation(value: HeaderValue): Expectation {
  if (typeof value !== 'string') {
    return EITHER;
  }
  const parsed = parseUberTraceId(value);
  if (parsed !== undefined) {
    return join(parsed);
  }
  const decoded = safeDecode(value.trim()) ?? value;
  const parts = decoded.split(':');
  const possible =
    parts.length >= 2 &&
    /^[0-9a-fA-F\s]{1,34}$/.test(parts[0]) &&
    /[1-9a-fA-F]/.test(parts[0]) &&
    /^[0-9a-fA-F\s]{1,18}$/.test(parts[1]) &&
    /[1-9a-fA-F]/.test(parts[1]);
  return possible ? EITHER : ROOT;
}

/**
 * Whether a joined id (lower-case, zero-padded) is one the caller sent: its
 * significant digits appear in what was sent, as sent or url-decoded, in any case.
 */
export function idWasSent(id: string, headers: ContextHeaders): boolean {
  const sent = Object.values(headers)
    .flatMap((value) => (typeof value === 'string' ? [value] : [...value]))
    .join('\n');
  const significant = id.toLowerCase().replace(/^0+/, '');
  const texts = [sent, safeDecode(sent) ?? sent].map((text) => text.toLowerCase());
  return significant !== '' && texts.some((text) => text.includes(significant));
}

// ---------------------------------------------------------------------------------
// Mutations: how a well-formed value goes wrong.
// ---------------------------------------------------------------------------------

function randomChar(random: Random): string {
  switch (random.int(8)) {
    case 0:
      return random.pick([...HEX]);
    case 1:
      return random.pick([...UPPER_HEX]);
    case 2:
    case 3:
      return random.pick([...NON_HEX]);
    case 4:
      return random.pick(UNICODE);
    case 5:
      return random.pick(WHITESPACE);
    case 6:
      return random.pick(['-', ':', '0', ',', '=', ';']);
    default:
      // Rarely, a character no HTTP header may carry.
      return random.chance(0.25) ? random.pick(CONTROL) : random.pick([...PRINTABLE]);
  }
}

/** One random change to `value`, keeping its structure recognisable. */
function mutate(random: Random, value: string, separators: string): string {
  const at = random.int(Math.max(value.length, 1));
  switch (random.int(11)) {
    case 0:
      return value.slice(0, at) + randomChar(random) + value.slice(at + 1);
    case 1:
      return value.slice(0, at) + value.slice(at + 1);
    case 2:
      return value.slice(0, at) + randomChar(random) + value.slice(at);
    case 3:
      return value.slice(0, at);
    case 4:
      return value + random.pick(['-', ':', ',', '-00', '-01', '-' + random.id(16), ' junk', '\t', ';x=1']);
    case 5:
      return value.toUpperCase();
    case 6: {
      // A separator replaced, doubled or dropped.
      const separator = [...value].findIndex((char, index) => index >= at && separators.includes(char));
      if (separator === -1) {
        return value + randomChar(random);
      }
      const replacement = random.pick(['', '_', ' ', '--', '::', '.', separators[0] + separators[0]]);
      return value.slice(0, separator) + replacement + value.slice(separator + 1);
    }
    case 7:
      return random.pick(WHITESPACE) + value + random.pick(['', ...WHITESPACE]);
    case 8:
      // A field's hex digits all zero.
      return value.replace(/[0-9a-f]{16,32}/, (ids) => (random.chance(0.5) ? '0'.repeat(ids.length) : ids));
    case 9:
      return value.slice(0, at) + random.pick(UNICODE) + value.slice(at);
    default:
      return random.string(PRINTABLE, random.int(3)) + value;
  }
}

function mutated(random: Random, value: string, separators: string): string {
  let result = value;
  const changes = random.between(1, 3);
  for (let index = 0; index < changes; index++) {
    result = mutate(random, result, separators);
  }
  return result;
}

/** A random string from a mix of alphabets, `0` to `maxLength` long. */
function noise(random: Random, maxLength: number): string {
  const alphabet = random.pick([HEX, UPPER_HEX, HEX + '-', HEX + ':', NON_HEX, PRINTABLE]);
  let result = random.string(alphabet, random.int(maxLength + 1));
  if (random.chance(0.15)) {
    result += random.pick(UNICODE);
  }
  return result;
}

/** `value` grown to 64 KiB with `filler`. */
function huge(value: string, filler: string): string {
  return (value + filler.repeat(Math.ceil(HUGE / filler.length))).slice(0, HUGE);
}

// ---------------------------------------------------------------------------------
// The families.
// ---------------------------------------------------------------------------------

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID_TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function traceparent(random: Random): string {
  const flags = random.pick(['00', '01', '01', random.string(HEX, 2)]);
  return `00-${random.id(32)}-${random.id(16)}-${flags}`;
}

function traceparentCases(random: Random, generated: number): ContextCase[] {
  const other = traceparent(random);
  const hand: [string, HeaderValue][] = [
    ['valid, sampled', VALID_TRACEPARENT],
    ['valid, not sampled', `00-${TRACE_ID}-${SPAN_ID}-00`],
    ['valid, unknown flags', `00-${TRACE_ID}-${SPAN_ID}-ff`],
    ['valid, flags 02', `00-${TRACE_ID}-${SPAN_ID}-02`],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['version FF', `FF-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 01, exact length', `01-${TRACE_ID}-${SPAN_ID}-01`],
    ['version cc with a future field', `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`],
    ['version fe with a future field', `fe-${TRACE_ID}-${SPAN_ID}-01-abc`],
    ['version cc with a non-dash after flags', `cc-${TRACE_ID}-${SPAN_ID}-01.abc`],
    ['version 00 with an extra field', `00-${TRACE_ID}-${SPAN_ID}-01-extra`],
    ['version 00 with a trailing dash', `00-${TRACE_ID}-${SPAN_ID}-01-`],
    ['version 0g', `0g-${TRACE_ID}-${SPAN_ID}-01`],
    ['version of one digit', `0-${TRACE_ID}-${SPAN_ID}-01`],
    ['version of three digits', `000-${TRACE_ID}-${SPAN_ID}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['all zeros', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`],
    ['upper-case trace id', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['upper-case parent id', `00-${TRACE_ID}-${SPAN_ID.toUpperCase()}-01`],
    ['upper-case everything', VALID_TRACEPARENT.toUpperCase()],
    ['upper-case flags', `00-${TRACE_ID}-${SPAN_ID}-0A`],
    ['trace id of 31 digits', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['trace id of 33 digits', `00-${TRACE_ID}a-${SPAN_ID}-01`],
    ['trace id of 16 digits', `00-${TRACE_ID.slice(16)}-${SPAN_ID}-01`],
    ['parent id of 15 digits', `00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`],
    ['parent id of 17 digits', `00-${TRACE_ID}-${SPAN_ID}0-01`],
    ['flags of one digit', `00-${TRACE_ID}-${SPAN_ID}-1`],
    ['flags of three digits', `00-${TRACE_ID}-${SPAN_ID}-001`],
    ['flags non-hex', `00-${TRACE_ID}-${SPAN_ID}-0g`],
    ['non-hex trace id', `00-${TRACE_ID.slice(0, 31)}g-${SPAN_ID}-01`],
    ['non-hex parent id', `00-${TRACE_ID}-${SPAN_ID.slice(0, 15)}z-01`],
    ['no flags', `00-${TRACE_ID}-${SPAN_ID}`],
    ['no flags, trailing dash', `00-${TRACE_ID}-${SPAN_ID}-`],
    ['no parent id', `00-${TRACE_ID}--01`],
    ['ids swapped', `00-${SPAN_ID}-${TRACE_ID}-01`],
    ['underscores', VALID_TRACEPARENT.replaceAll('-', '_')],
    ['spaces as separators', VALID_TRACEPARENT.replaceAll('-', ' ')],
    ['double dashes', VALID_TRACEPARENT.replaceAll('-', '--')],
    ['leading space', ` ${VALID_TRACEPARENT}`],
    ['trailing space', `${VALID_TRACEPARENT} `],
    ['surrounding tabs', `\t${VALID_TRACEPARENT}\t`],
    ['inner space', `00-${TRACE_ID} -${SPAN_ID}-01`],
    ['non-breaking space before', `\u00a0${VALID_TRACEPARENT}`],
    ['BOM before', `\ufeff${VALID_TRACEPARENT}`],
    ['unicode digit in the trace id', `00-${TRACE_ID.slice(0, 31)}٣-${SPAN_ID}-01`],
    ['full-width letter in the parent id', `00-${TRACE_ID}-${SPAN_ID.slice(0, 15)}ａ-01`],
    ['emoji', `00-${TRACE_ID}-${SPAN_ID}-01😀`],
    ['combining accent', `00-${TRACE_ID}\u0301-${SPAN_ID}-01`],
    ['empty', ''],
    ['one space', ' '],
    ['a dash', '-'],
    ['dashes only', '---'],
    ['00 only', '00'],
    ['a number', '12345'],
    ['JSON', JSON.stringify({ traceparent: VALID_TRACEPARENT })],
    ['two values in one header', `${VALID_TRACEPARENT},${other}`],
    ['two values, comma and space', `${VALID_TRACEPARENT}, ${other}`],
    ['valid then junk after a space', `${VALID_TRACEPARENT} junk`],
    ['duplicated header, same value', [VALID_TRACEPARENT, VALID_TRACEPARENT]],
    ['duplicated header, two traces', [VALID_TRACEPARENT, other]],
    ['duplicated header, valid then junk', [VALID_TRACEPARENT, 'junk']],
    ['duplicated header, junk then valid', ['junk', VALID_TRACEPARENT]],
    ['duplicated header, empty then valid', ['', VALID_TRACEPARENT]],
    ['64 KiB of hex', huge('', HEX)],
    ['64 KiB after a valid version 00', huge(`${VALID_TRACEPARENT}-`, 'a')],
    ['64 KiB future field of version 01', huge(`01-${TRACE_ID}-${SPAN_ID}-01-`, 'x')],
    ['64 KiB of dashes', huge('', '-')],
    ['64 KiB of unicode', huge('', '中😀')],
    ['NUL inside', `00-${TRACE_ID}\u0000-${SPAN_ID}-01`],
    ['newline inside', `00-${TRACE_ID}\n-${SPAN_ID}-01`],
    ['DEL at the end', `${VALID_TRACEPARENT}\u007f`],
  ];
  const cases: ContextCase[] = hand.map(([label, value]) => ({
    family: 'traceparent',
    label: `traceparent ${label}`,
    headers: { traceparent: value },
    expect: traceparentExpectation(value),
  }));
  for (let index = 0; index < generated; index++) {
    let value: string;
    const shape = random.int(10);
    if (shape === 0) {
      value = noise(random, 80);
    } else if (shape === 1) {
      // A random version, future fields sometimes.
      const version = random.pick(['00', '01', '7f', 'fe', 'ff', random.string(HEX, 2), random.string(NON_HEX, 2)]);
      const extra = random.chance(0.5) ? `-${random.string(PRINTABLE, random.int(20))}` : '';
      value = `${version}-${random.id(32)}-${random.id(16)}-${random.string(HEX, 2)}${extra}`;
    } else if (shape === 2) {
      value = traceparent(random);
    } else {
      value = mutated(random, traceparent(random), '-');
    }
    cases.push({
      family: 'traceparent',
      label: `traceparent generated #${index}`,
      headers: { traceparent: value },
      expect: traceparentExpectation(value),
    });
  }
  return cases;
}

/** A valid `tracestate` list member. */
function stateMember(random: Random): string {
  const key = random.chance(0.3)
    ? `${random.string('abcdefghijklmnopqrstuvwxyz0123456789', random.between(1, 8))}@${random.string('abcdefghijklmnopqrstuvwxyz', random.between(1, 6))}`
    : `${random.pick([...'abcdefghijklmnopqrstuvwxyz'])}${random.string('abcdefghijklmnopqrstuvwxyz0123456789_-*/', random.int(10))}`;
  const value = random.string(PRINTABLE.replace(/[,= ]/g, ''), random.between(1, 16));
  return `${key}=${value}`;
}

function tracestateCases(random: Random, generated: number): ContextCase[] {
  const members = (count: number) => Array.from({ length: count }, () => stateMember(random)).join(',');
  const hand: [string, HeaderValue][] = [
    ['one member', 'congo=t61rcWkgMzE'],
    ['two members', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
    ['multi-tenant key', 'fw529a3039@dt=lo-RFXmj0Ao'],
    ['32 members', members(32)],
    ['33 members', members(33)],
    ['100 members', members(100)],
    ['512 characters', `a=${'b'.repeat(510)}`],
    ['513 characters', `a=${'b'.repeat(511)}`],
    ['value of 256 characters', `a=${'b'.repeat(256)}`],
    ['duplicate keys', 'a=1,a=2'],
    ['upper-case key', 'Rojo=1'],
    ['key starting with a digit', '1abc=1'],
    ['key with a space', 'a b=1'],
    ['value with an equals sign', 'a=b=c'],
    ['value with a trailing space', 'a=b '],
    ['empty value', 'a='],
    ['empty key', '=b'],
    ['no equals sign', 'abc'],
    ['empty members', 'a=1,,,b=2'],
    ['only commas', ',,,'],
    ['leading comma', ',a=1'],
    ['trailing comma', 'a=1,'],
    ['tabs around members', 'a=1\t,\tb=2'],
    ['unicode value', 'a=café'],
    ['unicode key', 'ü=1'],
    ['emoji', 'a=😀'],
    ['empty', ''],
    ['whitespace only', ' \t '],
    ['duplicated header', ['a=1', 'b=2']],
    ['duplicated header with junk', ['a=1', '===']],
    ['64 KiB member', huge('a=', 'b')],
    ['64 KiB of members', huge('', 'k=v,')],
    ['64 KiB of commas', huge('', ',')],
    ['NUL in a value', 'a=b\u0000c'],
    ['newline between members', 'a=1\nb=2'],
  ];
  const parent = (): string => `00-${random.id(32)}-${random.id(16)}-01`;
  const cases: ContextCase[] = [];
  const add = (label: string, value: HeaderValue) => {
    const traceparentValue = parent();
    cases.push({
      family: 'tracestate',
      label: `tracestate ${label}`,
      headers: { traceparent: traceparentValue, tracestate: value },
      // Whatever the tracestate, a valid traceparent is joined (W3C: tracestate never invalidates it).
      expect: traceparentExpectation(traceparentValue),
    });
  };
  for (const [label, value] of hand) {
    add(label, value);
  }
  for (let index = 0; index < generated; index++) {
    const count = random.pick([1, 2, 5, 31, 32, 33, 40]);
    const list = members(count);
    const value = random.chance(0.6) ? mutated(random, list, ',=') : random.chance(0.5) ? list : noise(random, 120);
    add(`generated #${index}`, random.chance(0.05) ? [value, members(2)] : value);
  }
  return cases;
}

function baggageMember(random: Random): string {
  const key = random.string('abcdefghijklmnopqrstuvwxyz0123456789_-', random.between(1, 10));
  const value = random.chance(0.3)
    ? encodeURIComponent(random.string([...PRINTABLE, ...UNICODE], random.between(1, 12)))
    : random.string('abcdefghijklmnopqrstuvwxyz0123456789', random.between(1, 12));
  const properties = random.chance(0.2) ? `;${random.pick(['p', 'p=1', 'p=1;q', 'p=%20'])}` : '';
  return `${key}=${value}${properties}`;
}

function baggageCases(random: Random, generated: number): ContextCase[] {
  const members = (count: number) => Array.from({ length: count }, () => baggageMember(random)).join(',');
  const hand: [string, HeaderValue][] = [
    ['one entry', 'userId=alice'],
    ['entries with properties', 'userId=alice;p1,isProduction=false;q=1'],
    ['percent-encoded value', 'a=%20b%2Cc'],
    ['invalid percent-encoding', 'a=%zz'],
    ['lone percent sign', 'a=%'],
    ['180 entries', members(180)],
    ['181 entries', members(181)],
    ['500 entries', members(500)],
    ['8192 characters', `a=${'b'.repeat(8190)}`],
    ['8193 characters', `a=${'b'.repeat(8191)}`],
    ['entry of 4097 characters', `a=${'b'.repeat(4095)}`],
    ['empty key', '=value'],
    ['empty value', 'key='],
    ['no equals sign', 'key'],
    ['only separators', ',;=,;='],
    ['whitespace around', ' a = b , c = d '],
    ['unicode raw', 'ключ=значение'],
    ['emoji', 'a=😀'],
    ['duplicate keys', 'a=1,a=2'],
    ['empty', ''],
    ['duplicated header', ['a=1', 'b=2']],
    ['duplicated header with junk', ['a=1', '%%%']],
    ['64 KiB entry', huge('a=', 'b')],
    ['64 KiB of entries', huge('', 'k=v,')],
    ['64 KiB of percent signs', huge('a=', '%')],
    ['NUL inside', 'a=b\u0000'],
  ];
  const cases: ContextCase[] = [];
  const add = (label: string, value: HeaderValue, withParent: boolean) => {
    const headers: Record<string, HeaderValue> = { baggage: value };
    let expect: Expectation = ROOT;
    if (withParent) {
      headers.traceparent = `00-${random.id(32)}-${random.id(16)}-01`;
      expect = traceparentExpectation(headers.traceparent);
    }
    cases.push({
      family: 'baggage',
      label: `baggage ${label}${withParent ? ' with a traceparent' : ' alone'}`,
      headers,
      expect,
    });
  };
  for (const [label, value] of hand) {
    add(label, value, true);
    add(label, value, false);
  }
  for (let index = 0; index < generated; index++) {
    const list = members(random.pick([1, 3, 10, 179, 180, 181, 200]));
    const value = random.chance(0.6) ? mutated(random, list, ',;=%') : random.chance(0.5) ? list : noise(random, 120);
    add(`generated #${index}`, value, random.chance(0.5));
  }
  return cases;
}

function b3Single(random: Random): string {
  const traceId = random.chance(0.3) ? random.id(16) : random.id(32);
  let value = `${traceId}-${random.id(16)}`;
  if (random.chance(0.7)) {
    value += `-${random.pick(['0', '1', 'd'])}`;
    if (random.chance(0.3)) {
      value += `-${random.id(16)}`;
    }
  }
  return value;
}

function b3Cases(random: Random, generated: number): ContextCase[] {
  const short = TRACE_ID.slice(16);
  const hand: [string, HeaderValue][] = [
    ['valid, sampled', `${TRACE_ID}-${SPAN_ID}-1`],
    ['valid, not sampled', `${TRACE_ID}-${SPAN_ID}-0`],
    ['valid, debug', `${TRACE_ID}-${SPAN_ID}-d`],
    ['valid, deferred', `${TRACE_ID}-${SPAN_ID}`],
    ['valid with a parent', `${TRACE_ID}-${SPAN_ID}-1-${'05e3ac9a4f6e3b90'}`],
    ['valid 64-bit trace id', `${short}-${SPAN_ID}-1`],
    ['sampling only: 0', '0'],
    ['sampling only: 1', '1'],
    ['sampling only: d', 'd'],
    ['sampling true', `${TRACE_ID}-${SPAN_ID}-true`],
    ['sampling 2', `${TRACE_ID}-${SPAN_ID}-2`],
    ['sampling D', `${TRACE_ID}-${SPAN_ID}-D`],
    ['all-zero trace id', `${'0'.repeat(32)}-${SPAN_ID}-1`],
    ['all-zero 64-bit trace id', `${'0'.repeat(16)}-${SPAN_ID}-1`],
    ['all-zero span id', `${TRACE_ID}-${'0'.repeat(16)}-1`],
    ['upper-case trace id', `${TRACE_ID.toUpperCase()}-${SPAN_ID}-1`],
    ['upper-case span id', `${TRACE_ID}-${SPAN_ID.toUpperCase()}-1`],
    ['upper-case everything', `${TRACE_ID}-${SPAN_ID}-d`.toUpperCase()],
    ['trace id of 31 digits', `${TRACE_ID.slice(1)}-${SPAN_ID}-1`],
    ['trace id of 20 digits', `${TRACE_ID.slice(12)}-${SPAN_ID}-1`],
    ['span id of 15 digits', `${TRACE_ID}-${SPAN_ID.slice(1)}-1`],
    ['span id of 17 digits', `${TRACE_ID}-${SPAN_ID}a-1`],
    ['non-hex trace id', `${TRACE_ID.slice(0, 31)}x-${SPAN_ID}-1`],
    ['extra field', `${TRACE_ID}-${SPAN_ID}-1-${'05e3ac9a4f6e3b90'}-extra`],
    ['parent of 15 digits', `${TRACE_ID}-${SPAN_ID}-1-${'05e3ac9a4f6e3b9'}`],
    ['junk before', `junk-${TRACE_ID}-${SPAN_ID}-1`],
    ['junk after', `${TRACE_ID}-${SPAN_ID}-1 junk`],
    ['colons', `${TRACE_ID}:${SPAN_ID}:1`],
    ['leading space', ` ${TRACE_ID}-${SPAN_ID}-1`],
    ['unicode inside', `${TRACE_ID}-${SPAN_ID.slice(0, 8)}é${SPAN_ID.slice(8)}-1`],
    ['empty', ''],
    ['dash', '-'],
    ['duplicated header, same value', [`${TRACE_ID}-${SPAN_ID}-1`, `${TRACE_ID}-${SPAN_ID}-1`]],
    ['duplicated header, two traces', [`${TRACE_ID}-${SPAN_ID}-1`, b3Single(random)]],
    ['duplicated header, junk first', ['junk', `${TRACE_ID}-${SPAN_ID}-1`]],
    ['64 KiB of hex', huge('', HEX)],
    ['64 KiB after a valid value', huge(`${TRACE_ID}-${SPAN_ID}-1-`, 'f')],
    ['64 KiB of dashes', huge('', '-')],
    ['NUL inside', `${TRACE_ID}-${SPAN_ID}\u0000-1`],
  ];
  const cases: ContextCase[] = hand.map(([label, value]) => ({
    family: 'b3',
    label: `b3 ${label}`,
    headers: { b3: value },
    expect: b3Expectation(value),
  }));
  for (let index = 0; index < generated; index++) {
    const shape = random.int(10);
    const value =
      shape === 0 ? noise(random, 80) : shape === 1 ? b3Single(random) : mutated(random, b3Single(random), '-');
    cases.push({ family: 'b3', label: `b3 generated #${index}`, headers: { b3: value }, expect: b3Expectation(value) });
  }
  return cases;
}

function b3MultiCases(random: Random, generated: number): ContextCase[] {
  const valid = { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID, 'x-b3-sampled': '1' };
  const hand: [string, Record<string, HeaderValue>][] = [
    ['valid, sampled', valid],
    ['valid, not sampled', { ...valid, 'x-b3-sampled': '0' }],
    ['valid, deferred', { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID }],
    ['valid, debug', { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID, 'x-b3-flags': '1' }],
    ['valid, debug and not sampled', { ...valid, 'x-b3-sampled': '0', 'x-b3-flags': '1' }],
    ['valid 64-bit trace id', { ...valid, 'x-b3-traceid': TRACE_ID.slice(16) }],
    ['valid with a parent', { ...valid, 'x-b3-parentspanid': '05e3ac9a4f6e3b90' }],
    ['sampled true', { ...valid, 'x-b3-sampled': 'true' }],
    ['sampled False', { ...valid, 'x-b3-sampled': 'False' }],
    ['sampled 2', { ...valid, 'x-b3-sampled': '2' }],
    ['sampled empty', { ...valid, 'x-b3-sampled': '' }],
    ['flags 0', { ...valid, 'x-b3-flags': '0' }],
    ['flags 2', { ...valid, 'x-b3-flags': '2' }],
    ['sampled only', { 'x-b3-sampled': '1' }],
    ['flags only', { 'x-b3-flags': '1' }],
    ['trace id only', { 'x-b3-traceid': TRACE_ID }],
    ['span id only', { 'x-b3-spanid': SPAN_ID }],
    ['all-zero trace id', { ...valid, 'x-b3-traceid': '0'.repeat(32) }],
    ['all-zero span id', { ...valid, 'x-b3-spanid': '0'.repeat(16) }],
    ['upper-case trace id', { ...valid, 'x-b3-traceid': TRACE_ID.toUpperCase() }],
    ['upper-case span id', { ...valid, 'x-b3-spanid': SPAN_ID.toUpperCase() }],
    ['trace id of 20 digits', { ...valid, 'x-b3-traceid': TRACE_ID.slice(12) }],
    ['trace id of 1 digit', { ...valid, 'x-b3-traceid': '1' }],
    ['trace id of 33 digits', { ...valid, 'x-b3-traceid': `${TRACE_ID}a` }],
    ['span id of 15 digits', { ...valid, 'x-b3-spanid': SPAN_ID.slice(1) }],
    ['span id of 17 digits', { ...valid, 'x-b3-spanid': `${SPAN_ID}a` }],
    ['non-hex trace id', { ...valid, 'x-b3-traceid': `${TRACE_ID.slice(0, 31)}z` }],
    ['unicode span id', { ...valid, 'x-b3-spanid': `${SPAN_ID.slice(0, 15)}é` }],
    ['whitespace around ids', { ...valid, 'x-b3-traceid': ` ${TRACE_ID} `, 'x-b3-spanid': `\t${SPAN_ID}` }],
    ['empty ids', { 'x-b3-traceid': '', 'x-b3-spanid': '', 'x-b3-sampled': '' }],
    ['duplicated trace id header', { ...valid, 'x-b3-traceid': [TRACE_ID, TRACE_ID] }],
    ['duplicated span id header, two ids', { ...valid, 'x-b3-spanid': [SPAN_ID, random.id(16)] }],
    ['duplicated sampled header', { ...valid, 'x-b3-sampled': ['1', '0'] }],
    ['64 KiB trace id', { ...valid, 'x-b3-traceid': huge('', HEX) }],
    ['64 KiB sampled', { ...valid, 'x-b3-sampled': huge('1', '1') }],
    ['NUL in the span id', { ...valid, 'x-b3-spanid': `${SPAN_ID}\u0000` }],
  ];
  const cases: ContextCase[] = hand.map(([label, headers]) => ({
    family: 'x-b3',
    label: `X-B3 ${label}`,
    headers,
    expect: b3MultiExpectation(headers),
  }));
  for (let index = 0; index < generated; index++) {
    const headers: Record<string, string> = {};
    const field = (name: string, make: () => string, presence: number) => {
      if (random.chance(presence)) {
        const value = make();
        headers[name] = random.chance(0.35) ? mutated(random, value, '') : value;
      }
    };
    field('x-b3-traceid', () => (random.chance(0.3) ? random.id(16) : random.id(32)), 0.95);
    field('x-b3-spanid', () => random.id(16), 0.95);
    field('x-b3-sampled', () => random.pick(['0', '1', '1', 'true', 'false']), 0.6);
    field('x-b3-flags', () => random.pick(['1', '0']), 0.15);
    field('x-b3-parentspanid', () => random.id(16), 0.2);
    cases.push({
      family: 'x-b3',
      label: `X-B3 generated #${index}`,
      headers,
      expect: b3MultiExpectation(headers),
    });
  }
  return cases;
}

function uberTraceId(random: Random): string {
  const traceId = random.pick([random.id(32), random.id(16), random.id(random.between(1, 31))]);
  const spanId = random.chance(0.8) ? random.id(16) : random.id(random.between(1, 15));
  const parent = random.pick(['0', random.id(16)]);
  const flags = random.pick(['1', '01', '0', '00', '3', '02', 'ff']);
  return `${traceId}:${spanId}:${parent}:${flags}`;
}

function uberCases(random: Random, generated: number): ContextCase[] {
  const valid = `${TRACE_ID}:${SPAN_ID}:0:1`;
  const hand: [string, Record<string, HeaderValue>][] = [
    ['valid, sampled', { 'uber-trace-id': valid }],
    ['valid, not sampled', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}:0:0` }],
    ['valid, debug flags', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}:0:03` }],
    ['valid with a parent', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}:05e3ac9a4f6e3b90:1` }],
    ['valid short ids', { 'uber-trace-id': 'abc:de:0:1' }],
    ['valid url-encoded', { 'uber-trace-id': encodeURIComponent(valid) }],
    ['upper-case ids', { 'uber-trace-id': `${TRACE_ID.toUpperCase()}:${SPAN_ID.toUpperCase()}:0:1` }],
    ['invalid percent-encoding', { 'uber-trace-id': `${TRACE_ID}%zz:${SPAN_ID}:0:1` }],
    ['all-zero trace id', { 'uber-trace-id': `${'0'.repeat(32)}:${SPAN_ID}:0:1` }],
    ['zero trace id', { 'uber-trace-id': `0:${SPAN_ID}:0:1` }],
    ['zero span id', { 'uber-trace-id': `${TRACE_ID}:0:0:1` }],
    ['trace id of 33 digits', { 'uber-trace-id': `${TRACE_ID}a:${SPAN_ID}:0:1` }],
    ['span id of 17 digits', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}a:0:1` }],
    ['non-hex trace id', { 'uber-trace-id': `${TRACE_ID.slice(0, 31)}x:${SPAN_ID}:0:1` }],
    ['non-hex span id', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID.slice(0, 15)}x:0:1` }],
    ['flags non-hex', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}:0:zz` }],
    ['flags of three digits', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}:0:001` }],
    ['three fields', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}:1` }],
    ['five fields', { 'uber-trace-id': `${valid}:1` }],
    ['empty fields', { 'uber-trace-id': ':::' }],
    ['dashes', { 'uber-trace-id': valid.replaceAll(':', '-') }],
    ['spaces around fields', { 'uber-trace-id': ` ${TRACE_ID} : ${SPAN_ID} : 0 : 1 ` }],
    ['unicode inside', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}é:0:1` }],
    ['empty', { 'uber-trace-id': '' }],
    ['duplicated header', { 'uber-trace-id': [valid, uberTraceId(random)] }],
    ['with baggage', { 'uber-trace-id': valid, 'uberctx-user': 'alice', 'uberctx-bad': '%zz' }],
    ['baggage only', { 'uberctx-user': 'alice', 'uberctx-': 'x', 'uberctx-big': huge('', 'b') }],
    ['64 KiB trace id', { 'uber-trace-id': `${huge('', 'f')}:${SPAN_ID}:0:1` }],
    ['64 KiB of colons', { 'uber-trace-id': huge('', ':') }],
    ['64 KiB after a valid value', { 'uber-trace-id': huge(`${valid}:`, '1') }],
    ['NUL inside', { 'uber-trace-id': `${TRACE_ID}:${SPAN_ID}\u0000:0:1` }],
  ];
  const cases: ContextCase[] = hand.map(([label, headers]) => ({
    family: 'uber-trace-id',
    label: `uber-trace-id ${label}`,
    headers,
    expect: headers['uber-trace-id'] === undefined ? ROOT : uberExpectation(headers['uber-trace-id']),
  }));
  for (let index = 0; index < generated; index++) {
    const shape = random.int(10);
    let value =
      shape === 0 ? noise(random, 80) : shape === 1 ? uberTraceId(random) : mutated(random, uberTraceId(random), ':');
    if (random.chance(0.05)) {
      value = value.replaceAll(':', '%3A');
    }
    cases.push({
      family: 'uber-trace-id',
      label: `uber-trace-id generated #${index}`,
      headers: { 'uber-trace-id': value },
      expect: uberExpectation(value),
    });
  }
  return cases;
}

/** Several formats at once: whichever a reader picks, it must be one the caller sent. */
function mixedCases(random: Random, generated: number): ContextCase[] {
  const cases: ContextCase[] = [];
  for (let index = 0; index < generated; index++) {
    const headers: Record<string, HeaderValue> = {};
    const maybeBroken = (value: string, separators: string) =>
      random.chance(0.4) ? mutated(random, value, separators) : value;
    const families = random.between(2, 4);
    const order = random.shuffle(['traceparent', 'b3', 'x-b3', 'uber-trace-id', 'baggage']);
    for (const family of order.slice(0, families)) {
      if (family === 'traceparent') {
        headers.traceparent = maybeBroken(traceparent(random), '-');
        headers.tracestate = stateMember(random);
      } else if (family === 'b3') {
        headers.b3 = maybeBroken(b3Single(random), '-');
      } else if (family === 'x-b3') {
        headers['x-b3-traceid'] = maybeBroken(random.id(32), '');
        headers['x-b3-spanid'] = random.id(16);
        headers['x-b3-sampled'] = random.pick(['0', '1']);
      } else if (family === 'uber-trace-id') {
        headers['uber-trace-id'] = maybeBroken(uberTraceId(random), ':');
      } else {
        headers.baggage = baggageMember(random);
      }
    }
    cases.push({ family: 'mixed', label: `mixed generated #${index}`, headers, expect: EITHER });
  }
  return cases;
}

/**
 * The corpus: about 5,300 values. The same `seed` gives the same values, in the
 * same order.
 */
export function contextCases(seed: number = CONTEXT_SEED): ContextCase[] {
  const random = new Random(seed);
  return [
    ...traceparentCases(random, 1500),
    ...tracestateCases(random, 500),
    ...baggageCases(random, 550),
    ...b3Cases(random, 850),
    ...b3MultiCases(random, 850),
    ...uberCases(random, 850),
    ...mixedCases(random, 300),
  ];
}

/** Whether a value can travel in an HTTP header (after UTF-8 encoding): no control character but tab. */
export function isHttpSendable(headers: ContextHeaders): boolean {
  return Object.values(headers).every((value) => (typeof value === 'string' ? [value] : value).every(isHeaderText));
}

function isHeaderText(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) {
      return false;
    }
  }
  return true;
}

/** A value as the bytes of its UTF-8 encoding, one Latin-1 character per byte: what goes on the wire. */
export function utf8Bytes(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}
