import fs from 'node:fs';
import path from 'node:path';

/**
 * Every relative link of README.md and docs/*.md leads to something a clone of this repository has (a link
 * to `../shared/...` worked only beside the team's other folders), and every `#anchor` to a heading there.
 */
const root = path.resolve(__dirname, '..');
const documents = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

/** The text outside fenced code blocks and inline code, where a `](...)` is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Link targets: inline `[text](target "title")` and `![alt](target)`, and reference definitions `[id]: target`. */
function links(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const references = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]);
  return [...inline, ...references];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return out;
}

const external = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

describe.each(documents)('%s', (document) => {
  const markdown = fs.readFileSync(path.join(root, document), 'utf8');
  const relative = links(markdown).filter((target) => !external.test(target));

  test('every relative link resolves to a file or folder inside the repository', () => {
    const broken: string[] = [];
    for (const target of relative) {
      const [file] = target.split('#');
      if (file === '') continue; // an anchor in this document: checked below
      const resolved = path.resolve(path.dirname(path.join(root, document)), decodeURIComponent(file));
      const inside = resolved === root || resolved.startsWith(root + path.sep);
      if (!inside) broken.push(`${target} (outside the repository)`);
      else if (!fs.existsSync(resolved)) broken.push(`${target} (no such file)`);
    }
    expect(broken).toEqual([]);
  });

  test('every #anchor names a heading of its document', () => {
    const broken: string[] = [];
    for (const target of relative) {
      const [file, anchor] = target.split('#');
      if (anchor === undefined || (file !== '' && !file.endsWith('.md'))) continue;
      const resolved =
        file === '' ? path.join(root, document) : path.resolve(path.dirname(path.join(root, document)), file);
      if (!fs.existsSync(resolved)) continue; // reported by the test above
      if (!anchors(fs.readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor))) broken.push(target);
    }
    expect(broken).toEqual([]);
  });
});

describe('the link checker itself', () => {
  test("finds README.md's relative links (an empty list would mean the extraction broke)", () => {
    const readme = links(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
    expect(readme).toEqual(expect.arrayContaining(['docs/rest-contract.md', '#development']));
  });

  test('finds inline, image and reference links outside code, and GitHub anchors', () => {
    const sample = [
      'See [a](docs/a.md#part-one) and ![b](img/b.png "B") and `[c](not/a/link.md)`.',
      '```',
      '[d](inside/a/fence.md)',
      '```',
      '[e]: ../outside.md',
      '## Part one: `code` (and CI/CD)',
      '## Part one: `code` (and CI/CD)',
    ].join('\n');
    expect(links(sample)).toEqual(['docs/a.md#part-one', 'img/b.png', '../outside.md']);
    expect([...anchors(sample)]).toEqual(['part-one-code-and-cicd', 'part-one-code-and-cicd-1']);
  });
});
