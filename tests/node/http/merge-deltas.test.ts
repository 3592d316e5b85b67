// Joining a batch's streamed text deltas into one chunk (node/openai/responses.ts): the
// text a client reassembles is unchanged, and nothing that is not a plain delta moves.
import { describe, expect, it } from 'vitest';
import { mergeDeltas, ResponseBuilder } from '../../../node/openai/responses.js';
import type { ResponseEvent } from '../../../protocol/index.js';

type Chunk = Extract<ResponseEvent, { type: 'chunk' }>;
const chunk = (data: Record<string, unknown>): Chunk => ({ type: 'chunk', data });
const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };

function textOf(events: ResponseEvent[]): string {
  let text = '';
  for (const event of events) {
    if (event.type !== 'chunk') continue;
    for (const choice of event.data.choices as Array<Record<string, unknown>>) {
      const delta = choice.delta as { content?: string } | undefined;
      text += delta?.content ?? (choice.text as string | undefined) ?? '';
    }
  }
  return text;
}

describe('mergeDeltas', () => {
  it('joins chat deltas into one chunk that keeps the role, id and the rest of the first', () => {
    const b = new ResponseBuilder('chat', 'demo', true);
    const batch = [
      chunk(b.delta('Hel', true)),
      chunk(b.delta('lo')),
      chunk(b.delta(', ')),
      chunk(b.delta('world')),
    ];
    const merged = mergeDeltas(batch);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toEqual(chunk({ ...b.delta('Hello, world', true) }));
    expect((merged[0] as Chunk).data.id).toBe(b.id);
    // The input is left as it was.
    expect(textOf(batch)).toBe('Hello, world');
    expect(batch).toHaveLength(4);
  });

  it('joins completion text and keeps the finish, usage and done events after it, in order', () => {
    const b = new ResponseBuilder('completion', 'demo', true);
    const batch: ResponseEvent[] = [
      chunk(b.delta('a')),
      chunk(b.delta('b')),
      chunk(b.delta('c')),
      chunk(b.finish('length')),
      chunk(b.usage(usage)),
      { type: 'done' },
    ];
    const merged = mergeDeltas(batch);
    expect(merged).toEqual([
      chunk(b.delta('abc')),
      chunk(b.finish('length')),
      chunk(b.usage(usage)),
      { type: 'done' },
    ]);
  });

  it('passes a lone delta on as the same object', () => {
    const b = new ResponseBuilder('chat', 'demo');
    const only = chunk(b.delta('x', true));
    expect(mergeDeltas([only])[0]).toBe(only);
    expect(mergeDeltas([])).toEqual([]);
  });

  it('does not join across answers, roles, or anything but plain text deltas', () => {
    const one = new ResponseBuilder('chat', 'demo');
    const two = new ResponseBuilder('chat', 'demo');
    const toolCall = chunk({
      ...one.delta('', false),
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { arguments: '{' } }] },
          logprobs: null,
          finish_reason: null,
        },
      ],
    });
    const withLogprobs = chunk({
      ...one.delta('p'),
      choices: [
        { index: 0, delta: { content: 'p' }, logprobs: { content: [] }, finish_reason: null },
      ],
    });
    const twoChoices = chunk({
      ...one.delta('q'),
      choices: [
        { index: 0, delta: { content: 'q' }, logprobs: null, finish_reason: null },
        { index: 1, delta: { content: 'r' }, logprobs: null, finish_reason: null },
      ],
    });
    const odd = chunk({ id: one.id, object: 'chat.completion.chunk', choices: 'nope' });
    const batch: ResponseEvent[] = [
      chunk(one.delta('a', true)),
      chunk(two.delta('b')), // another answer's id
      chunk(two.delta('c', true)), // a role mid-answer starts a new chunk
      chunk(two.delta('d')),
      toolCall,
      chunk(one.delta('e')),
      withLogprobs,
      twoChoices,
      odd,
      chunk(one.delta('f')),
      {
        type: 'error',
        status: 500,
        error: { message: 'x', type: 'server_error', param: null, code: null },
      },
    ];
    const merged = mergeDeltas(batch);
    expect(merged).toEqual([
      batch[0],
      batch[1],
      chunk(two.delta('cd', true)),
      toolCall,
      batch[5],
      withLogprobs,
      twoChoices,
      odd,
      batch[9],
      batch[10],
    ]);
  });
});
