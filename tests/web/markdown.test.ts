// The markdown renderer treats answers as hostile: raw HTML shows as text, nothing runs.
// Each payload tries to set window.__xss; the test puts the output into the live DOM,
// gives event handlers time to fire, and checks the flag stayed unset.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  escapeHtml,
  renderMarkdown,
  safeLinkHref,
  sanitizeHtml,
  warmMarkdownSoon,
} from '../../browser/src/lib/markdown.js';

declare global {
  interface Window {
    __xss?: unknown;
  }
}

const containers: HTMLElement[] = [];

/** Renders into the document, as the app does, and waits for load/error events to fire. */
async function renderIntoPage(html: string): Promise<HTMLElement> {
  const container = document.createElement('div');
  document.body.append(container);
  containers.push(container);
  container.innerHTML = html;
  await new Promise((resolve) => setTimeout(resolve, 150));
  return container;
}

afterEach(() => {
  for (const container of containers.splice(0)) container.remove();
  delete window.__xss;
});

describe('renderMarkdown', () => {
  it('renders ordinary markdown: emphasis, lists, inline code, fenced code with a language', () => {
    const html = renderMarkdown(
      '# Title\n\n**bold** and *it* and `x < y`\n\n- one\n- two\n\n```ts\nconst a = 1 < 2;\n```\n',
    );
    const root = document.createElement('div');
    root.innerHTML = html;
    expect(root.querySelector('h1')?.textContent).toBe('Title');
    expect(root.querySelector('strong')?.textContent).toBe('bold');
    expect(root.querySelectorAll('li')).toHaveLength(2);
    expect(root.querySelector('p code')?.textContent).toBe('x < y');
    const code = root.querySelector('pre code');
    expect(code?.className).toBe('language-ts');
    expect(code?.textContent).toBe('const a = 1 < 2;\n');
    expect(root.querySelector('.code-lang')?.textContent).toBe('ts');
  });

  it('keeps safe links, opening in a new tab without a referrer', () => {
    const root = document.createElement('div');
    root.innerHTML = renderMarkdown('[docs](https://example.com/a?b=1) and <https://example.org>');
    const links = [...root.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual([
      'https://example.com/a?b=1',
      'https://example.org/',
    ]);
    for (const a of links) {
      expect(a.target).toBe('_blank');
      expect(a.rel).toContain('noopener');
      expect(a.rel).toContain('noreferrer');
    }
  });

  it('returns an empty string for an empty answer', () => {
    expect(renderMarkdown('')).toBe('');
  });
});

describe('XSS payloads render inert, as visible text', () => {
  const payloads: Array<[name: string, markdown: string, visible: string]> = [
    [
      'img onerror',
      'Look: <img src=x onerror="window.__xss = 1">',
      '<img src=x onerror="window.__xss = 1">',
    ],
    [
      'script block',
      '<script>window.__xss = 1</script>\n\nafter',
      '<script>window.__xss = 1</script>',
    ],
    ['inline script', 'hi <script>window.__xss = 1</script> there', '<script>'],
    [
      'iframe javascript:',
      '<iframe src="javascript:window.__xss=1"></iframe>',
      '<iframe src="javascript:window.__xss=1"></iframe>',
    ],
    [
      'iframe srcdoc',
      '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
      '<iframe srcdoc=',
    ],
    [
      'event handler attribute',
      '<div onmouseover="window.__xss=1" style="position:fixed;inset:0">cover</div>',
      'onmouseover="window.__xss=1"',
    ],
    [
      'svg onload',
      '<svg onload="window.__xss=1"><circle r="5"/></svg>',
      '<svg onload="window.__xss=1">',
    ],
    [
      'details ontoggle',
      '<details open ontoggle="window.__xss=1"><summary>x</summary></details>',
      'ontoggle',
    ],
    [
      'anchor with handler',
      '<a href="https://example.com" onclick="window.__xss=1">x</a>',
      'onclick="window.__xss=1"',
    ],
    [
      'html inside a link label',
      '[<img src=x onerror="window.__xss=1">](https://example.com)',
      '<img src=x onerror=',
    ],
  ];

  for (const [name, markdown, visible] of payloads) {
    it(name, async () => {
      const root = await renderIntoPage(renderMarkdown(markdown));
      expect(window.__xss).toBeUndefined();
      expect(root.textContent).toContain(visible);
      expect(root.querySelector('script, iframe, img, svg, details, object, embed')).toBeNull();
      for (const element of root.querySelectorAll('*')) {
        for (const attribute of element.getAttributeNames()) {
          expect(attribute.startsWith('on'), `${element.tagName} has ${attribute}`).toBe(false);
        }
      }
    });
  }

  it('javascript:, data: and vbscript: links render as plain text', async () => {
    const markdown = [
      '[click](javascript:window.__xss=1)',
      '[tab](java\tscript:window.__xss=1)',
      '[upper](JAVASCRIPT:window.__xss=1)',
      '[entity](&#106;avascript:window.__xss=1)',
      '[data](data:text/html,<script>window.__xss=1</script>)',
      '[vb](vbscript:msgbox(1))',
      '[ref][r]',
      '',
      '[r]: javascript:window.__xss=1',
    ].join('\n');
    const root = await renderIntoPage(renderMarkdown(markdown));
    for (const link of root.querySelectorAll('a')) {
      expect(link.getAttribute('href')).toMatch(/^(https?|mailto):/);
    }
    expect(root.querySelectorAll('a')).toHaveLength(0);
    expect(root.textContent).toContain('click');
    expect(root.textContent).toContain('ref');
    for (const span of root.querySelectorAll('p')) span.click();
    expect(window.__xss).toBeUndefined();
  });

  it('images never load: they become links (or text, if their URL is unsafe)', async () => {
    const root = await renderIntoPage(
      renderMarkdown(
        '![pixel](https://tracker.example/p.gif?leak=1) ![bad](javascript:window.__xss=1)',
      ),
    );
    expect(root.querySelector('img')).toBeNull();
    const link = root.querySelector('a');
    expect(link?.getAttribute('href')).toBe('https://tracker.example/p.gif?leak=1');
    expect(link?.textContent).toBe('pixel');
    expect(root.textContent).toContain('bad');
    expect(window.__xss).toBeUndefined();
  });

  it('code blocks show HTML as code, never as markup', async () => {
    const root = await renderIntoPage(
      renderMarkdown('```html\n<img src=x onerror="window.__xss=1">\n```'),
    );
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('pre code')?.textContent).toContain('<img src=x onerror=');
    expect(window.__xss).toBeUndefined();
  });

  it('a hostile code-fence language cannot break out of the class attribute', async () => {
    const root = await renderIntoPage(
      renderMarkdown('```"><img src=x onerror=window.__xss=1>\nx\n```'),
    );
    expect(root.querySelector('img')).toBeNull();
    expect(window.__xss).toBeUndefined();
  });
});

describe('second line of defence: sanitizeHtml on raw HTML', () => {
  it('strips scripts, handlers, frames, images and javascript: URLs', async () => {
    const root = await renderIntoPage(
      sanitizeHtml(
        [
          '<p onclick="window.__xss=1">text</p>',
          '<img src=x onerror="window.__xss=1">',
          '<script>window.__xss=1</script>',
          '<iframe src="javascript:window.__xss=1"></iframe>',
          '<a href="javascript:window.__xss=1">js</a>',
          '<a href="https://example.com" target="_self">ok</a>',
          '<svg><script>window.__xss=1</script></svg>',
          '<form action="https://evil.example"><button>go</button></form>',
          '<div style="position:fixed">overlay</div>',
        ].join(''),
      ),
    );
    expect(window.__xss).toBeUndefined();
    expect(root.querySelector('script, img, iframe, svg, form, [style], [onclick]')).toBeNull();
    const links = [...root.querySelectorAll('a')];
    expect(links.find((a) => a.textContent === 'js')?.hasAttribute('href')).toBe(false);
    const ok = links.find((a) => a.textContent === 'ok');
    expect(ok?.getAttribute('href')).toBe('https://example.com');
    expect(ok?.target).toBe('_blank');
    expect(root.textContent).toContain('text');
  });
});

describe('helpers', () => {
  it('escapeHtml escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('safeLinkHref allows only absolute http, https and mailto URLs', () => {
    expect(safeLinkHref('https://example.com')).toBe('https://example.com/');
    expect(safeLinkHref('mailto:a@example.com')).toBe('mailto:a@example.com');
    expect(safeLinkHref(' javascript:alert(1)')).toBeNull();
    expect(safeLinkHref('java\nscript:alert(1)')).toBeNull();
    expect(safeLinkHref('data:text/html,x')).toBeNull();
    expect(safeLinkHref('/relative')).toBeNull();
    expect(safeLinkHref('not a url')).toBeNull();
  });
});

describe('warmMarkdownSoon', () => {
  it('renders a sample once, a block per idle moment, and changes no later render', async () => {
    const before = renderMarkdown('# Hi\n\n- a `b`');
    const idle = vi.spyOn(window, 'requestIdleCallback').mockImplementation(() => 0);
    warmMarkdownSoon();
    warmMarkdownSoon();
    expect(idle).toHaveBeenCalledTimes(1);
    // Each step renders one block and asks for the next idle moment, until the sample is
    // done. The scheduled renders must not throw (they run outside any caller).
    for (let i = 0; i < idle.mock.calls.length && i < 100; i++) {
      const [callback] = idle.mock.calls[i]!;
      expect(() => callback({ didTimeout: false, timeRemaining: () => 50 })).not.toThrow();
    }
    // Heading, paragraph, two lists, quote, code, table: a step each, and the last one.
    expect(idle.mock.calls.length).toBe(8);
    idle.mockRestore();
    expect(renderMarkdown('# Hi\n\n- a `b`')).toBe(before);
  });
});
