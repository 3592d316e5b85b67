/**
 * Checks a `json_schema` response format against what node-llama-cpp's grammar generator
 * can enforce, and returns the schema without annotations.
 *
 * node-llama-cpp silently ignores keywords it does not know (`pattern`, `minimum`, …) and
 * turns unknown shapes into `null`, which would let the model produce output that breaks
 * the caller's schema. Refusing such schemas up front, with the keyword and the JSON
 * pointer in the message, is the honest answer.
 *
 * Supported: `type` (`string`, `number`, `integer`, `boolean`, `null`, `object`, `array`,
 * or a list of the scalar ones), `const`, `enum`, `oneOf`/`anyOf`, `$ref` to
 * `#/$defs/<name>`, `$defs`; strings with `minLength`/`maxLength` or a `format` of
 * `date-time`, `date` or `time`; objects with `properties`, `required`,
 * `additionalProperties`, `minProperties`, `maxProperties`; arrays with `items`,
 * `prefixItems`, `minItems`, `maxItems`. Annotations (`title`, `description`, `$schema`,
 * `default`, `examples`, …) are accepted and dropped (`description` is kept).
 *
 * Every property in `properties` is generated (node-llama-cpp treats all as required),
 * which still satisfies any `required` list.
 */
import type { GbnfJsonSchema } from 'node-llama-cpp';
import { InvalidRequestError } from './errors.js';

const PARAM = 'responseFormat';

/** Keywords that do not constrain a value: accepted and dropped. */
const ANNOTATIONS = new Set([
  'title',
  '$schema',
  '$id',
  '$comment',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const STRING_FORMATS = new Set(['date-time', 'date', 'time']);
const MAX_DEPTH = 64;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function fail(pointer: string, why: string): never {
  throw new InvalidRequestError(
    `unsupported JSON schema at ${pointer}: ${why}. Supported: type, properties, required, additionalProperties, items, prefixItems, enum, const, oneOf/anyOf, $ref to #/$defs, minLength/maxLength, format (date-time, date, time), min/maxItems, min/maxProperties`,
    PARAM,
  );
}

function nonNegativeInt(value: unknown, pointer: string, key: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(`${pointer}/${key}`, `${key} must be a non-negative integer`);
  }
  return value;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Validate `schema` and return it without annotations, ready for
 * `llama.createGrammarForJsonSchema`. Throws {@link InvalidRequestError}.
 */
export function toGbnfJsonSchema(schema: unknown): GbnfJsonSchema {
  if (!isObject(schema)) fail('#', 'the schema must be a JSON object');
  return convert(schema, '#', new Set(), 0) as GbnfJsonSchema;
}

function convert(node: unknown, pointer: string, visibleDefs: Set<string>, depth: number): Json {
  if (depth > MAX_DEPTH) fail(pointer, `nested deeper than ${MAX_DEPTH} levels`);
  if (!isObject(node)) {
    fail(
      pointer,
      typeof node === 'boolean' ? 'boolean schemas are not supported' : 'expected a schema object',
    );
  }
  const out: Json = {};
  const keys = new Set(Object.keys(node).filter((key) => !ANNOTATIONS.has(key)));
  const take = (key: string): unknown => {
    keys.delete(key);
    return node[key];
  };

  if ('description' in node) {
    const description = take('description');
    if (typeof description !== 'string')
      fail(`${pointer}/description`, 'description must be a string');
    out.description = description;
  }

  // $defs first: they are visible to this schema and everything below it.
  let defs = visibleDefs;
  if ('$defs' in node) {
    const rawDefs = take('$defs');
    if (!isObject(rawDefs)) fail(`${pointer}/$defs`, '$defs must be an object');
    defs = new Set([...visibleDefs, ...Object.keys(rawDefs)]);
    const converted: Json = {};
    for (const [name, def] of Object.entries(rawDefs)) {
      converted[name] = convert(def, `${pointer}/$defs/${escapePointer(name)}`, defs, depth + 1);
    }
    out.$defs = converted;
  }
  if ('definitions' in node) fail(`${pointer}/definitions`, 'use $defs instead of definitions');

  const finish = (): Json => {
    const [extra] = keys;
    if (extra !== undefined)
      fail(`${pointer}/${escapePointer(extra)}`, `keyword "${extra}" is not supported here`);
    return out;
  };

  if ('$ref' in node) {
    const ref = take('$ref');
    const name =
      typeof ref === 'string' && ref.startsWith('#/$defs/')
        ? ref.slice('#/$defs/'.length)
        : undefined;
    if (name === undefined)
      fail(`${pointer}/$ref`, 'only references of the form #/$defs/<name> are supported');
    if (!defs.has(name)) fail(`${pointer}/$ref`, `no definition named "${name}" in $defs`);
    out.$ref = ref;
    return finish();
  }

  if ('const' in node) {
    const value = take('const');
    if (!isPrimitive(value))
      fail(`${pointer}/const`, 'const must be a string, number, boolean or null');
    keys.delete('type'); // implied by the value
    out.const = value;
    return finish();
  }

  if ('enum' in node) {
    const values = take('enum');
    if (!Array.isArray(values) || values.length === 0 || !values.every(isPrimitive)) {
      fail(
        `${pointer}/enum`,
        'enum must be a non-empty list of strings, numbers, booleans or null',
      );
    }
    keys.delete('type');
    out.enum = values;
    return finish();
  }

  for (const combinator of ['oneOf', 'anyOf'] as const) {
    if (!(combinator in node)) continue;
    const options = take(combinator);
    if (!Array.isArray(options) || options.length === 0) {
      fail(`${pointer}/${combinator}`, `${combinator} must be a non-empty list of schemas`);
    }
    out.oneOf = options.map((option, i) =>
      convert(option, `${pointer}/${combinator}/${i}`, defs, depth + 1),
    );
    return finish();
  }

  if (!('type' in node))
    fail(pointer, 'every schema needs a type (or const, enum, oneOf, anyOf, $ref)');
  const type = take('type');

  if (Array.isArray(type)) {
    if (type.length === 0 || !type.every((t) => typeof t === 'string' && SCALAR_TYPES.has(t))) {
      fail(
        `${pointer}/type`,
        'a list of types may only hold string, number, integer, boolean and null',
      );
    }
    out.type = type;
    return finish();
  }

  switch (type) {
    case 'number':
    case 'integer':
    case 'boolean':
    case 'null':
      out.type = type;
      return finish();

    case 'string': {
      out.type = 'string';
      if ('format' in node) {
        const format = take('format');
        if (typeof format !== 'string' || !STRING_FORMATS.has(format)) {
          fail(`${pointer}/format`, `string format ${JSON.stringify(format)} is not supported`);
        }
        if ('minLength' in node || 'maxLength' in node) {
          fail(pointer, 'format cannot be combined with minLength or maxLength');
        }
        out.format = format;
        return finish();
      }
      const min =
        'minLength' in node ? nonNegativeInt(take('minLength'), pointer, 'minLength') : undefined;
      const max =
        'maxLength' in node ? nonNegativeInt(take('maxLength'), pointer, 'maxLength') : undefined;
      if (min !== undefined && max !== undefined && max < min)
        fail(pointer, 'maxLength is below minLength');
      if (min !== undefined) out.minLength = min;
      if (max !== undefined) out.maxLength = max;
      return finish();
    }

    case 'object': {
      out.type = 'object';
      let propertyNames: string[] = [];
      if ('properties' in node) {
        const properties = take('properties');
        if (!isObject(properties)) fail(`${pointer}/properties`, 'properties must be an object');
        const converted: Json = {};
        for (const [name, propSchema] of Object.entries(properties)) {
          converted[name] = convert(
            propSchema,
            `${pointer}/properties/${escapePointer(name)}`,
            defs,
            depth + 1,
          );
        }
        propertyNames = Object.keys(properties);
        out.properties = converted;
      }
      if ('required' in node) {
        const required = take('required');
        if (!Array.isArray(required) || !required.every((name) => typeof name === 'string')) {
          fail(`${pointer}/required`, 'required must be a list of property names');
        }
        const missing = required.find((name) => !propertyNames.includes(name as string));
        if (missing !== undefined) {
          fail(
            `${pointer}/required`,
            `required property "${String(missing)}" is not in properties`,
          );
        }
        out.required = required;
      }
      if ('additionalProperties' in node) {
        const additional = take('additionalProperties');
        out.additionalProperties =
          typeof additional === 'boolean'
            ? additional
            : convert(additional, `${pointer}/additionalProperties`, defs, depth + 1);
      }
      const minProperties =
        'minProperties' in node
          ? nonNegativeInt(take('minProperties'), pointer, 'minProperties')
          : undefined;
      const maxProperties =
        'maxProperties' in node
          ? nonNegativeInt(take('maxProperties'), pointer, 'maxProperties')
          : undefined;
      if (maxProperties !== undefined && maxProperties < propertyNames.length) {
        fail(
          pointer,
          `maxProperties (${maxProperties}) is below the number of properties (${propertyNames.length})`,
        );
      }
      if (
        minProperties !== undefined &&
        maxProperties !== undefined &&
        maxProperties < minProperties
      ) {
        fail(pointer, 'maxProperties is below minProperties');
      }
      if (minProperties !== undefined) out.minProperties = minProperties;
      if (maxProperties !== undefined) out.maxProperties = maxProperties;
      return finish();
    }

    case 'array': {
      out.type = 'array';
      let prefixLength = 0;
      if ('prefixItems' in node) {
        const prefix = take('prefixItems');
        if (!Array.isArray(prefix)) {
          fail(`${pointer}/prefixItems`, 'prefixItems must be a list of schemas');
        }
        out.prefixItems = prefix.map((item, i) =>
          convert(item, `${pointer}/prefixItems/${i}`, defs, depth + 1),
        );
        prefixLength = prefix.length;
      }
      let maxItems =
        'maxItems' in node ? nonNegativeInt(take('maxItems'), pointer, 'maxItems') : undefined;
      if ('items' in node) {
        const items = take('items');
        if (items === false) {
          // No items beyond the prefix.
          if (!out.prefixItems) fail(`${pointer}/items`, 'items: false needs prefixItems');
          maxItems = Math.min(maxItems ?? prefixLength, prefixLength);
        } else {
          out.items = convert(items, `${pointer}/items`, defs, depth + 1);
        }
      }
      const minItems =
        'minItems' in node ? nonNegativeInt(take('minItems'), pointer, 'minItems') : undefined;
      if (maxItems !== undefined && maxItems < prefixLength) {
        fail(
          pointer,
          `maxItems (${maxItems}) is below the number of prefixItems (${prefixLength})`,
        );
      }
      if (minItems !== undefined && maxItems !== undefined && maxItems < minItems) {
        fail(pointer, 'maxItems is below minItems');
      }
      if (minItems !== undefined) out.minItems = minItems;
      if (maxItems !== undefined) out.maxItems = maxItems;
      return finish();
    }

    default:
      return fail(`${pointer}/type`, `unknown type ${JSON.stringify(type)}`);
  }
}
