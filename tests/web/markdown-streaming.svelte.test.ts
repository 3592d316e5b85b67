// A streaming answer is rendered block by block (browser/src/lib/markdown.ts,
// Markdown.svelte): every update must show exactly what rendering the text from scratch
// shows, while the DOM of blocks that did not change stays as it is.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { flushSync, mount, unmount } from 'svelte';
import Markdown from '../../browser/src/lib/components/Markdown.svelte';
import {
  renderMarkdown,
  renderMarkdownBlocks,
  StreamingMarkdown,
} from '../../browser/src/lib/markdown.js';

/** Pieces of the markdown answers are made of (no link reference definitions). */
const PIECES = [
  'Hello, **world**. ',
  'Some *emphasis* and `code`. ',
  'A [link](https://example.org) here. ',
  '\n\n',
  '\n',
  '# Heading\n',
  '## Second\n\n',
  '- item one\n',
  '- item two\n',
  '1. first\n',
  '> quoted text\n',
  '```js\nconst x = 1;\n',
  '```\n',
  '| a | b |\n| - | - |\n| 1 | 2 |\n',
  '<img src=x onerror="window.__xss=1">',
  '<script>window.__xss=1</script>\n',
  '---\n',
  'Setext\n===\n',
  '    indented code\n',
  'trailing words',
];

const answers = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 14 });

describe('StreamingMarkdown', () => {
  it('renders every prefix of a growing answer exactly as a fresh render does', () => {
    fc.assert(
      fc.property(
        answers,
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 12 }),
        (pieces, steps) => {
          const answer = pieces.join('');
          const stream = new StreamingMarkdown();
          let end = 0;
          for (const step of [...steps, answer.length]) {
            end = Math.min(answer.length, end + step);
            const prefix = answer.slice(0, end);
            expect(stream.render(prefix)).toEqual(renderMarkdownBlocks(prefix));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('joins its blocks into renderMarkdown output, one block per top-level element', () => {
    const source = '# Title\n\nFirst paragraph.\n\n- a\n- b\n\n```\ncode\n```\n';
    const blocks = renderMarkdownBlocks(source);
    expect(blocks.join('')).toBe(renderMarkdown(source));
    expect(blocks).toHaveLength(4);
    expect(blocks[0]).toMatch(/^<h1>Title<\/h1>/);
    expect(blocks[3]).toContain('class="code-block"');
    expect(renderMarkdownBlocks('')).toEqual([]);
  });
});

describe('Markdown.svelte', () => {
  const targets: Array<{ component: ReturnType<typeof mount>; target: HTMLElement }> = [];
  afterEach(async () => {
    for (const { component, target } of targets.splice(0)) {
      await unmount(component);
      target.remove();
    }
  });

  function render(initial: { source: string; streaming: boolean }): {
    markdown: Element;
    props: { source: string; streaming: boolean };
  } {
    const target = document.createElement('div');
    document.body.append(target);
    const props = $state(initial);
    const component = mount(Markdown, { target, props });
    targets.push({ component, target });
    flushSync();
    return { markdown: target.querySelector('.markdown')!, props };
  }
  const nextFrame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => r()));

  it('keeps the DOM of unchanged blocks while the answer streams, and ends as a fresh render', async () => {
    const { markdown, props } = render({ source: 'First paragraph.\n\nSecond', streaming: true });
    await nextFrame();
    flushSync();
    const first = markdown.querySelector('p')!;
    expect(first.textContent).toBe('First paragraph.');

    props.source = 'First paragraph.\n\nSecond paragraph grows';
    flushSync();
    await nextFrame();
    flushSync();
    expect(markdown.querySelector('p')).toBe(first); // the same node, not re-created
    expect(markdown.querySelectorAll('p')[1]!.textContent).toBe('Second paragraph grows');

    props.source = 'First paragraph.\n\nSecond paragraph grows.\n\n- done';
    props.streaming = false;
    flushSync();
    expect(markdown.innerHTML).toBe(renderMarkdown(props.source));
  });
});
