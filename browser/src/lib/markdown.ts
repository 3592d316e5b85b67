/**
 * Markdown for model answers, rendered to HTML that is safe to put in the page.
 *
 * An answer comes from a remote node we do not control, so it is hostile input. Two
 * independent layers keep it inert:
 *
 * 1. marked renders with a renderer that never passes HTML through: raw HTML in the
 *    answer (`<script>`, `<img onerror=…>`, `<iframe>`) becomes escaped, visible text;
 *    links keep only `http:`, `https:` and `mailto:` targets; images become plain links,
 *    so an answer cannot make the browser fetch anything (no tracking pixels).
 * 2. DOMPurify then sanitizes the result with a strict allowlist, in case a marked bug
 *    or a future renderer change lets markup slip through.
 *
 * A page Content-Security-Policy (index.html) that forbids inline script is the third.
 *
 * @example
 * ```ts
 * element.innerHTML = renderMarkdown('**bold** and `code`');
 * ```
 */
import { Marked } from 'marked';
import type { Tokens } from 'marked';
import DOMPurify from 'dompurify';
import type { Config as PurifyConfig } from 'dompurify';

/** URL schemes a link in an answer may use; anything else renders as plain text. */
const SAFE_LINK_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
/** The attribute marking a code block's copy button, wired up by `Markdown.svelte`. */
export const COPY_CODE_ATTRIBUTE = 'data-copy-code';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/** The normalised URL if `href` is an absolute http(s)/mailto URL, else `null`. */
export function safeLinkHref(href: string): string | null {
  let url: URL;
  try {
    // The URL parser strips the whitespace and control characters that tricks like
    // "java\tscript:" rely on, and lowercases the scheme.
    url = new URL(href.trim());
  } catch {
    return null;
  }
  return SAFE_LINK_PROTOCOLS.has(url.protocol) ? url.href : null;
}

const LINK_ATTRIBUTES = 'rel="noopener noreferrer nofollow" target="_blank"';

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    // Raw HTML from the model is shown, not interpreted.
    html(token: Tokens.HTML | Tokens.Tag): string {
      const escaped = escapeHtml(token.text);
      return token.block ? `<p class="md-raw">${escaped.trimEnd()}</p>\n` : escaped;
    },
    link(token: Tokens.Link): string {
      const inner = this.parser.parseInline(token.tokens);
      const href = safeLinkHref(token.href);
      if (href == null) return inner;
      const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
      return `<a href="${escapeHtml(href)}"${title} ${LINK_ATTRIBUTES}>${inner}</a>`;
    },
    image(token: Tokens.Image): string {
      const alt = escapeHtml(token.text || 'image');
      const href = safeLinkHref(token.href);
      if (href == null) return alt;
      return `<a class="md-image" href="${escapeHtml(href)}" ${LINK_ATTRIBUTES}>${alt}</a>`;
    },
    code(token: Tokens.Code): string {
      const language = /^[\w+#.-]{1,32}/.exec(token.lang ?? '')?.[0] ?? '';
      const label = language === '' ? 'code' : escapeHtml(language);
      const className = language === '' ? '' : ` class="language-${escapeHtml(language)}"`;
      const body = escapeHtml(token.text.replace(/\n$/, ''));
      return (
        `<div class="code-block"><div class="code-head"><span class="code-lang">${label}</span>` +
        `<button type="button" class="code-copy" ${COPY_CODE_ATTRIBUTE}>Copy</button></div>` +
        `<pre><code${className}>${body}\n</code></pre></div>\n`
      );
    },
  },
});

/** Tags and attributes the second layer removes even though DOMPurify's html profile allows them. */
const PURIFY_CONFIG: PurifyConfig & { RETURN_TRUSTED_TYPE: false } = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: [
    'style',
    'form',
    'img',
    'picture',
    'source',
    'video',
    'audio',
    'track',
    'iframe',
    'frame',
    'object',
    'embed',
    'link',
    'meta',
    'base',
    'textarea',
    'select',
    'svg',
    'math',
  ],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction', 'ping'],
  ADD_ATTR: ['target'],
  ALLOWED_URI_REGEXP: /^(?:https?|mailto):/i,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  RETURN_TRUSTED_TYPE: false,
};

type Purifier = ReturnType<typeof DOMPurify>;

let purifier: Purifier | null | undefined;

function getPurifier(): Purifier | null {
  if (purifier !== undefined) return purifier;
  // A private instance, so our hook never touches anyone else's DOMPurify.
  const instance = typeof window === 'undefined' ? null : DOMPurify(window);
  if (instance == null || !instance.isSupported) {
    purifier = null;
    return purifier;
  }
  instance.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    } else {
      node.removeAttribute('target');
    }
  });
  purifier = instance;
  return purifier;
}

/**
 * Sanitizes an HTML string with the strict allowlist. Without a working DOMPurify
 * (no DOM) it fails closed: everything is escaped.
 */
export function sanitizeHtml(html: string): string {
  const instance = getPurifier();
  if (instance == null) return escapeHtml(html);
  return instance.sanitize(html, PURIFY_CONFIG);
}

/** Renders model-written markdown to sanitized HTML. */
export function renderMarkdown(source: string): string {
  return renderMarkdownBlocks(source).join('');
}

/**
 * {@link renderMarkdown}, one sanitized HTML string per top-level block (paragraph,
 * list, code block, table, …); joined, they are its output. Each block is sanitized on
 * its own, so no block's markup can reach into the next.
 */
export function renderMarkdownBlocks(source: string): string[] {
  return new StreamingMarkdown().render(source);
}

/**
 * Renders an answer that grows: each call splits the whole source into blocks (marked's
 * lexer, cheap), but renders and sanitizes only the blocks whose markdown changed since
 * the previous call (in a streaming answer, the last one or two) and reuses the HTML of
 * the others. Render the final answer with {@link renderMarkdownBlocks}: a link reference
 * defined late can change an earlier block whose markdown stayed the same.
 */
export class StreamingMarkdown {
  #blocks: Array<{ raw: string; html: string }> = [];

  render(source: string): string[] {
    const previous = this.#blocks;
    const next: Array<{ raw: string; html: string }> = [];
    if (source !== '') {
      for (const [i, token] of marked.lexer(source).entries()) {
        const reused = previous[i]?.raw === token.raw ? previous[i] : undefined;
        next.push(reused ?? { raw: token.raw, html: sanitizeHtml(marked.parser([token])) });
      }
    }
    this.#blocks = next;
    return next.map((block) => block.html).filter((html) => html !== '');
  }
}

/** Markdown of the kinds answers use, for {@link warmMarkdownSoon}. */
const WARM_SAMPLE = [
  '# Title',
  '',
  'Some **bold**, *emphasis*, `code` and a [link](https://example.org).',
  '',
  '- one',
  '- two',
  '',
  '1. first',
  '',
  '> quoted',
  '',
  '```js',
  'const x = 1;',
  '```',
  '',
  '| a | b |',
  '| - | - |',
  '| 1 | 2 |',
].join('\n');

let warmed = false;

/**
 * Renders a sample, one kind of block per idle moment (however long those take to come):
 * the renderer's first use of each (marked compiling its rules, DOMPurify setting up)
 * costs main thread that an answer's first token would otherwise wait for. Call it when
 * an answer is likely to follow (someone types a prompt) or is on its way; later calls do
 * nothing.
 *
 * In a page still starting (traced in headless Chromium on two shared cores) the whole
 * sample took 76–165 ms in one task, in the middle of the page's dial to its node, and
 * kept keystrokes waiting as long; a block at a time, the longest task is 20–45 ms.
 */
export function warmMarkdownSoon(): void {
  if (warmed || typeof window === 'undefined') return;
  warmed = true;
  const blocks = WARM_SAMPLE.split('\n\n');
  // No deadline: at start-up the page's idle moments are few and its dial to a node
  // needs them more; each step waits for one.
  const later = (task: () => void): void => {
    if (typeof window.requestIdleCallback === 'function') window.requestIdleCallback(task);
    else setTimeout(task, 0);
  };
  const step = (): void => {
    const block = blocks.shift();
    if (block === undefined) return;
    renderMarkdown(block);
    later(step);
  };
  later(step);
}
