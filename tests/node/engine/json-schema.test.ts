import { describe, expect, it } from 'vitest';
import { toGbnfJsonSchema } from '../../../node/engine/json-schema.js';

const refused = (schema: unknown, where: string): void => {
  expect(() => toGbnfJsonSchema(schema)).toThrow(
    expect.objectContaining({
      name: 'InvalidRequestError',
      param: 'responseFormat',
      message: expect.stringContaining(`unsupported JSON schema at ${where}`),
    }),
  );
};

describe('toGbnfJsonSchema', () => {
  it('keeps what node-llama-cpp enforces and drops annotations', () => {
    expect(
      toGbnfJsonSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        title: 'Person',
        description: 'a person',
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 40, examples: ['Ada'] },
          born: { type: 'string', format: 'date' },
          tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 3 },
          pet: { anyOf: [{ $ref: '#/$defs/pet' }, { type: 'null' }] },
          score: { type: ['number', 'null'], default: null },
        },
        required: ['name'],
        additionalProperties: false,
        $defs: { pet: { type: 'object', properties: { kind: { const: 'cat' } } } },
      }),
    ).toEqual({
      description: 'a person',
      $defs: { pet: { type: 'object', properties: { kind: { const: 'cat' } } } },
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 40 },
        born: { type: 'string', format: 'date' },
        tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 3 },
        pet: { oneOf: [{ $ref: '#/$defs/pet' }, { type: 'null' }] },
        score: { type: ['number', 'null'] },
      },
      required: ['name'],
      additionalProperties: false,
    });
  });

  it('turns items: false into a tuple limit', () => {
    expect(
      toGbnfJsonSchema({
        type: 'array',
        prefixItems: [{ type: 'string' }, { type: 'integer' }],
        items: false,
      }),
    ).toEqual({
      type: 'array',
      prefixItems: [{ type: 'string' }, { type: 'integer' }],
      maxItems: 2,
    });
  });

  it('refuses what the grammar cannot enforce, naming the place', () => {
    refused(
      { type: 'object', properties: { code: { type: 'string', pattern: '^A' } } },
      '#/properties/code/pattern',
    );
    refused({ type: 'integer', minimum: 0 }, '#/minimum');
    refused({ type: 'string', format: 'email' }, '#/format');
    refused({ allOf: [{ type: 'string' }] }, '#');
    refused({ not: { type: 'string' } }, '#');
    refused({}, '#');
    refused({ type: 'object', properties: { a: true } }, '#/properties/a');
    refused({ $ref: '#/definitions/x', definitions: { x: { type: 'string' } } }, '#/definitions');
    refused({ $ref: '#/$defs/missing' }, '#/$ref');
    refused({ type: ['string', 'object'] }, '#/type');
    refused(
      { type: 'object', properties: { a: { type: 'string' } }, required: ['b'] },
      '#/required',
    );
    refused({ type: 'string', minLength: 5, maxLength: 2 }, '#');
    refused({ type: 'array', minItems: 3, maxItems: 1 }, '#');
    refused(
      {
        type: 'object',
        properties: { a: { type: 'string' }, b: { type: 'string' } },
        maxProperties: 1,
      },
      '#',
    );
    refused({ enum: [] }, '#/enum');
    refused({ const: { a: 1 } }, '#/const');
    refused({ type: 'date' }, '#/type');
    refused('object', '#');
  });
});
