import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every link a reader can follow resolves: relative links and #anchors in the repository's Markdown
// (README.md, CONTRIBUTING.md, docs/**), and every doc path the code mentions. Anchors are computed
// the way GitHub renders headings; no network, no database.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'data', 'coverage', 'results']);
const CODE_DIRS = ['src', 'providers', 'bench', 'bin', 'test', 'migrations', '.ci'];
const CODE_EXTENSIONS = new Set(['.ts', '.js', '.mjs', '.cjs', '.sql', '.css', '.html', '.sh', '']);

function walk(dir: string, keep: (path: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : walk(path, keep);
    return entry.isFile() && keep(path) ? [path] : [];
  });
}

const rel = (path: string) => relative(ROOT, path).split(sep).join('/');

/**
 * The anchor GitHub gives a heading (its TableOfContentsFilter): the heading's text, lower-cased,
 * without anything but letters, marks, digits, connector punctuation (`_`), `-` and spaces; spaces
 * become `-` (runs are not squeezed). A repeated slug gets `-1`, `-2`, … in order.
 */
export function githubSlug(heading: string, seen: Set<string> = new Set()): string {
  const base = headingText(heading)
    .toLowerCase()
    .replace(/[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
  let slug = base;
  for (let n = 1; seen.has(slug); n++) slug = `${base}-${n}`;
  seen.add(slug);
  return slug;
}

/** The text a heading renders to: code spans verbatim, link text without its target, no markup. */
function headingText(markdown: string): string {
  return markdown
    .split(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/)
    .map((part, i) => {
      if (i % 3 === 1) return '';
      if (i % 3 === 2) return part.replace(/^ (.*) $/, '$1');
      return part
        .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
        .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/<[^>]+>/g, '')
        .replace(/\\([!-/:-@[-`{-~])/g, '$1')
        .replace(/(\*+|~~)/g, '')
        .replace(/(^|[^\p{L}\p{N}])_+|_+(?=$|[^\p{L}\p{N}])/gu, '$1')
        .replace(
          /&(amp|lt|gt|quot|#39);/g,
          (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"' })[name] ?? "'",
        );
    })
    .join('')
    .trim();
}

interface Link {
  line: number;
  target: string;
}

interface MarkdownFile {
  links: Link[];
  anchors: Set<string>;
  /** Repository paths written as code spans (`src/store/events.ts`), relative to the repository root. */
  paths: Link[];
}

/** A code span that names a file or folder of the repository; placeholders (`<name>`, `*`) are not paths. */
const REPO_PATH = /^(?:src|providers|test|bench|migrations|bin|docs|\.ci)\/[^\s<>*{}]*$/;

/** Folders .gitignore excludes: paths under them are generated (bench/results/latest.json). */
const IGNORED = readFileSync(join(ROOT, '.gitignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line.endsWith('/'));

const parsed = new Map<string, MarkdownFile>();

/** Links and heading anchors of a Markdown file; fenced code blocks and code spans are not read. */
function readMarkdown(path: string): MarkdownFile {
  const cached = parsed.get(path);
  if (cached) return cached;
  const result: MarkdownFile = { links: [], anchors: new Set(), paths: [] };
  let fence: string | undefined;
  let previous = '';
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.replace(/\r$/, '');
      const fenceMark = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence !== undefined) {
        if (
          fenceMark &&
          fenceMark[0] === fence[0] &&
          fenceMark.length >= fence.length &&
          !/\S/.test(line.slice(line.indexOf(fenceMark) + fenceMark.length))
        )
          fence = undefined;
        previous = '';
        return;
      }
      if (fenceMark) {
        fence = fenceMark;
        previous = '';
        return;
      }
      const atx = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
      if (atx) githubSlug(atx[1] ?? '', result.anchors);
      else if (/^ {0,3}(=+|-+)[ \t]*$/.test(line) && /\S/.test(previous) && !/^\s*[|>#*+-]/.test(previous)) {
        githubSlug(previous, result.anchors);
      }
      for (const [, id] of line.matchAll(/<a\s+(?:[^>]*\s)?(?:id|name)="([^"]+)"/g)) result.anchors.add(id!);

      for (const [, , code] of line.matchAll(/(`+)([^`]|[^`].*?[^`])\1(?!`)/g)) {
        if (REPO_PATH.test(code!.trim())) result.paths.push({ line: index + 1, target: code!.trim() });
      }
      const text = line.replace(/(`+)([^`]|[^`].*?[^`])\1(?!`)/g, '');
      const targets = [
        ...[...text.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)].map((m) => m[1]!),
        ...[...text.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!),
        ...[/^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(text)?.[1] ?? []].flat(),
      ];
      for (const target of targets) result.links.push({ line: index + 1, target: target.replace(/^<(.*)>$/, '$1') });
      previous = atx ? '' : line;
    });
  parsed.set(path, result);
  return result;
}

/** Why a link from `from` to `target` does not resolve, or undefined when it does. */
function brokenLink(from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined; // http:, mailto:, …
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  if (pathPart.startsWith('/')) return 'absolute path: write it relative to this file';
  const resolved = pathPart ? resolve(dirname(from), pathPart) : from;
  if (resolved !== ROOT.replace(/[/\\]$/, '') && !resolved.startsWith(ROOT)) return 'points outside the repository';
  if (!existsSync(resolved)) return `no such file: ${rel(resolved)}`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(resolved).isDirectory()) return 'an anchor on a folder';
  if (extname(resolved) !== '.md')
    return /^L\d+(-L\d+)?$/.test(anchor) ? undefined : `no anchor #${anchor} in ${rel(resolved)}`;
  return readMarkdown(resolved).anchors.has(anchor)
    ? undefined
    : `no heading with anchor #${anchor} in ${rel(resolved)}`;
}

const markdownFiles = walk(ROOT, (path) => path.endsWith('.md')).sort();
const docsPages = markdownFiles.filter((path) => rel(path).startsWith('docs/'));

describe('documentation links', () => {
  it('computes anchors as GitHub does', () => {
    const seen = new Set<string>();
    expect(githubSlug('The `GATEWAY_CONFIG` file', seen)).toBe('the-gateway_config-file');
    expect(githubSlug('Worker, retries and leases', seen)).toBe('worker-retries-and-leases');
    expect(githubSlug('Pull polling: SPS Commerce (REST or SFTP)', seen)).toBe(
      'pull-polling-sps-commerce-rest-or-sftp',
    );
    expect(githubSlug('Standard Webhooks / Svix', seen)).toBe('standard-webhooks--svix');
    expect(githubSlug('**Ingest** and [the worker](worker.md)', seen)).toBe('ingest-and-the-worker');
    expect(githubSlug('Answers', seen)).toBe('answers');
    expect(githubSlug('Answers', seen)).toBe('answers-1');
  });

  it('finds the Markdown it checks', () => {
    expect(markdownFiles.map(rel)).toEqual(
      expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'docs/adr/README.md']),
    );
  });

  it.each(markdownFiles.map(rel))('every relative link, anchor and repository path in %s resolves', (file) => {
    const path = join(ROOT, file);
    const { links, paths } = readMarkdown(path);
    const problems = [
      ...links.flatMap(({ line, target }) => {
        const problem = brokenLink(path, target);
        return problem ? [`${file}:${line} → ${target}: ${problem}`] : [];
      }),
      ...paths
        .filter(({ target }) => !IGNORED.some((dir) => target.startsWith(dir)))
        .flatMap(({ line, target }) =>
          existsSync(join(ROOT, target)) ? [] : [`${file}:${line} names ${target}, which does not exist`],
        ),
    ];
    expect(problems).toEqual([]);
  });

  it('every page in docs/ is one click from the README', () => {
    const readme = join(ROOT, 'README.md');
    const linked = new Set(
      readMarkdown(readme).links.map(({ target }) => resolve(ROOT, decodeURIComponent(target.split('#')[0]!))),
    );
    const pages = docsPages.filter((path) => /^docs\/[^/]+\.md$|^docs\/[^/]+\/README\.md$/.test(rel(path)));
    expect(pages.filter((path) => !linked.has(path)).map(rel)).toEqual([]);
  });

  it('every decision record is listed in docs/adr/README.md', () => {
    const index = join(ROOT, 'docs/adr/README.md');
    const listed = new Set(
      readMarkdown(index).links.map(({ target }) => resolve(dirname(index), target.split('#')[0]!)),
    );
    const records = docsPages.filter((path) => /^docs\/adr\/\d{4}-[^/]+\.md$/.test(rel(path)));
    expect(records.length).toBeGreaterThan(0);
    expect(records.filter((path) => !listed.has(path)).map(rel)).toEqual([]);
  });

  it('every doc path the code mentions exists', () => {
    const codeFiles = [
      ...CODE_DIRS.flatMap((dir) => walk(join(ROOT, dir), (path) => CODE_EXTENSIONS.has(extname(path)))),
      ...readdirSync(ROOT)
        .filter((name) => /\.(ts|js|mjs|cjs)$|^Dockerfile$/.test(name))
        .map((name) => join(ROOT, name)),
    ];
    const problems = codeFiles.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) =>
          [...line.matchAll(/(?<![\w./-])(docs\/[\w./-]*[\w/]|(?:README|CONTRIBUTING)\.md)(#[\w-]+)?/g)].flatMap(
            (m) => {
              const problem = brokenLink(join(ROOT, 'README.md'), m[0]);
              return problem ? [`${rel(file)}:${index + 1} mentions ${m[0]}: ${problem}`] : [];
            },
          ),
        ),
    );
    expect(codeFiles.length).toBeGreaterThan(100);
    expect(problems).toEqual([]);
  });
});
