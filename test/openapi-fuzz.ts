import fc from 'fast-check';

// Requests made from the OpenAPI document alone: a valid example of each operation's input, and
// inputs that are wrong by construction (each one breaks one rule its schema states), or odd but
// allowed. The fuzz suite sends them to every operation, so a new route is covered unwritten.

/** The part of a JSON Schema (as @fastify/swagger writes it) that the generators read. */
export interface Schema {
  $ref?: string;
  type?: string | string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
}

export interface Operation {
  method: string;
  /** OpenAPI path, e.g. `/v1/programs/{programId}`. */
  path: string;
  pathParams: string[];
  query: { name: string; schema: Schema }[];
  body: Schema | undefined;
  /** The security schemes it accepts, e.g. `bearerAuth` (API keys) or `portalToken`. */
  security: string[];
}

interface Document {
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, Schema> };
}
interface OperationObject {
  parameters?: { in: string; name: string; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  security?: Record<string, string[]>[];
}

/** Every operation of the document, with its schemas' references resolved. */
export function operationsOf(doc: Document): Operation[] {
  const components = doc.components?.schemas ?? {};
  const resolve = (s: Schema): Schema => {
    const seen = new Set<string>();
    const walk = (x: unknown): unknown => {
      if (Array.isArray(x)) return x.map(walk);
      if (!x || typeof x !== 'object') return x;
      const ref = (x as Schema).$ref;
      if (ref) {
        const name = ref.split('/').pop() as string;
        if (seen.has(name)) throw new Error(`recursive schema ${name}`);
        seen.add(name);
        const target = walk(components[name]);
        seen.delete(name);
        return target;
      }
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]));
    };
    return walk(s) as Schema;
  };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const params = op.parameters ?? [];
      const body = op.requestBody?.content['application/json']?.schema;
      return {
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: resolve(p.schema) })),
        body: body && resolve(body),
        security: (op.security ?? []).flatMap((s) => Object.keys(s)),
      };
    }),
  );
}

const typesOf = (s: Schema): string[] =>
  s.anyOf || s.oneOf
    ? [...new Set((s.anyOf ?? s.oneOf ?? []).flatMap(typesOf))]
    : s.enum || s.const !== undefined
      ? ['string']
      : s.type === undefined
        ? ['any']
        : [s.type].flat();

/** The first branch of a union that is not null. */
const branch = (s: Schema): Schema => {
  const options = s.anyOf ?? s.oneOf;
  if (!options) return s;
  return branch(
    options.find((o) => !typesOf(o).every((t) => t === 'null')) ?? (options[0] as Schema),
  );
};

const STRING_CANDIDATES = [
  'x',
  'a',
  'ab',
  'abc',
  'a1',
  'x_1',
  'UTC',
  'Asia/Shanghai',
  '1',
  'A12345',
];

/** A valid value for the schema, with every optional property filled (so refinements like "at least one field" hold). */
export function sample(schema: Schema): unknown {
  const s = branch(schema);
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const type = typesOf(s)[0];
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, sample(v)]));
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => sample(s.items ?? {}));
    case 'integer':
    case 'number': {
      const low = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      const high = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 1);
      return Math.min(Math.max(1, low), high);
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string': {
      if (s.format === 'date') return '2000-01-01';
      if (s.format === 'date-time') return '2026-01-01T00:00:00.000Z';
      if (s.format === 'email') return 'fuzz@example.cn';
      if (s.format === 'uri') return 'https://example.cn/fuzz.png';
      const length = Math.max(1, s.minLength ?? 0);
      const candidates = [...STRING_CANDIDATES, 'x'.repeat(length)].filter(
        (c) => c.length >= (s.minLength ?? 0) && c.length <= (s.maxLength ?? 10_000),
      );
      const fits = candidates.find((c) => !s.pattern || new RegExp(s.pattern, 'u').test(c));
      return fits ?? 'x'.repeat(length);
    }
    default:
      return 'x';
  }
}

/** A place in a value: the path to it, its schema, and the value there. */
interface Place {
  path: (string | number)[];
  schema: Schema;
  value: unknown;
}

/** Every place in a sampled value, walked along the branches the sample took. */
function places(schema: Schema, value: unknown, path: (string | number)[] = []): Place[] {
  const s = branch(schema);
  const here: Place = { path, schema, value };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return [
      here,
      ...Object.entries(value).flatMap(([k, v]) =>
        s.properties?.[k] ? places(s.properties[k], v, [...path, k]) : [],
      ),
    ];
  }
  if (Array.isArray(value)) {
    return [here, ...value.flatMap((v, i) => places(s.items ?? {}, v, [...path, i]))];
  }
  return [here];
}

function setAt(root: unknown, path: (string | number)[], value: unknown, remove = false): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (remove) delete at[last];
  else at[last] = value;
  return copy;
}

const WRONG_TYPES: [string, unknown][] = [
  ['string', 'fuzz'],
  ['number', 1.5],
  ['integer', 7],
  ['boolean', true],
  ['null', null],
  ['array', []],
  ['object', {}],
];

/** Values that each break one rule the schema states at a place (none when it states none). */
function breakings(p: Place): unknown[] {
  // The types the whole union allows; the other rules are those of the branch the value took.
  const allowed = typesOf(p.schema);
  const s = branch(p.schema);
  const out: unknown[] = [];
  if (!allowed.includes('any')) {
    for (const [type, v] of WRONG_TYPES) {
      const fine =
        allowed.includes(type) ||
        (type === 'integer' && allowed.includes('number')) ||
        (type === 'number' && allowed.includes('number'));
      if (!fine && !(s.enum && typeof v === 'string')) out.push(v);
    }
  }
  if (s.enum) out.push('not-one-of-them');
  if (typeof p.value === 'string') {
    if (s.maxLength !== undefined) out.push('x'.repeat(s.maxLength + 1));
    if ((s.minLength ?? 0) > 0) out.push('');
    if (s.pattern && !new RegExp(s.pattern, 'u').test('!?!')) out.push('!?!');
    if (s.format === 'date' || s.format === 'date-time') out.push('2026-13-45');
  }
  if (typeof p.value === 'number') {
    if (s.maximum !== undefined) out.push(s.maximum + 1);
    if (s.minimum !== undefined) out.push(s.minimum - 1);
    if (s.type === 'integer') out.push(0.5);
  }
  if (Array.isArray(p.value)) {
    if (s.maxItems !== undefined) out.push(Array(s.maxItems + 1).fill(p.value[0]));
    if ((s.minItems ?? 0) > 0) out.push([]);
  }
  return out;
}

/** Bodies each wrong in one way: a wrong type, a value out of range, a missing or unknown field. */
export function invalidBodies(schema: Schema): unknown[] {
  const base = sample(schema);
  const out: unknown[] = [];
  for (const p of places(schema, base)) {
    for (const wrong of breakings(p)) out.push(setAt(base, p.path, wrong));
    const s = branch(p.schema);
    if (p.value && typeof p.value === 'object' && !Array.isArray(p.value)) {
      for (const name of s.required ?? [])
        out.push(setAt(base, [...p.path, name], undefined, true));
      if (s.additionalProperties === false) out.push(setAt(base, [...p.path, 'fuzzUnknown'], 1));
    }
  }
  return out;
}

/** Strings a client might send: odd, long within the limit, or trying something. */
export function oddString(maxLength: number): fc.Arbitrary<string> {
  const constants = [
    '__proto__',
    'constructor',
    "'; drop table members; --",
    '" or 1=1 --',
    '\u202egnp.exe',
    '\u200b',
    'ｆｕｌｌｗｉｄｔｈ',
    '会员积分',
    '😀👨‍👩‍👧',
    '../../etc/passwd',
    '%00%ff',
    `\${jndi:ldap://x}`, // a Log4Shell probe, literally
    '<script>alert(1)</script>',
    ' ',
    '\t\n',
  ].filter((c) => c.length <= maxLength);
  return fc.oneof(
    fc.constantFrom(...(constants.length ? constants : ['x'])),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
  );
}

/** Bodies that keep the shape but put odd, possibly valid, values in their strings and numbers. */
export function oddBodies(schema: Schema): fc.Arbitrary<unknown> {
  const base = sample(schema);
  const spots = places(schema, base).filter(
    (p) => typeof p.value === 'string' || typeof p.value === 'number',
  );
  if (spots.length === 0) return fc.constant(base);
  return fc
    .tuple(
      fc.constantFrom(...spots),
      fc.oneof(
        oddString(2000),
        fc.integer(),
        fc.double(),
        fc.constantFrom(0, -0, 2 ** 53, -(2 ** 53), 1e308),
      ),
    )
    .map(([p, v]) => {
      const fitted =
        typeof v === 'string' && typeof p.value === 'string'
          ? v.slice(0, branch(p.schema).maxLength ?? v.length)
          : v;
      return setAt(base, p.path, fitted);
    });
}

/** Path segments and query values a client might send. */
export const oddSegments = fc.oneof(
  fc.constantFrom(
    '%20',
    '..',
    '.',
    '%2F',
    '%2e%2e',
    'a'.repeat(201),
    'a'.repeat(1001),
    '%FF',
    '%C0%AF',
    '%00',
    '%F0%9F%98%80',
    encodeURIComponent('\u202e'),
    encodeURIComponent("'"),
    encodeURIComponent('<x>'),
    '~',
    '-1',
    '0',
    '1e309',
    'NaN',
    'null',
  ),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
);

/** Raw bodies that are not the JSON a route wants. */
export const oddRawBodies = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":1}garbage',
    '\uFEFF{}',
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    '{"a":1,"a":2}',
    '[[[[[[[[]]]]]]]]',
    `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    `{"a":${'{"b":'.repeat(5_000)}1${'}'.repeat(5_000)}}`,
    'true',
    '"string"',
    '1e999',
    '',
    ' ',
  ),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
);
