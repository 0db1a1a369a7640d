/**
 * A small Dockerfile reader for the tests: instructions with their stage, line continuations joined,
 * comments and parser directives dropped. Enough for the facts test/edge/dockerfile.test.ts checks
 * (it does not evaluate ARG/ENV substitution). Not a test file: jest only runs `*.test.ts`.
 */

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, USER, HEALTHCHECK... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  /** Position in the file, from 0. */
  index: number;
  /** The `AS name`, lower-cased, if any. */
  name: string | undefined;
  /** The FROM image: an image reference or the name of an earlier stage. */
  from: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let current: { parts: string[]; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    // Comments (and parser directives) are whole lines starting with #, also inside a continuation.
    if (trimmed.startsWith('#') || (trimmed === '' && current === undefined)) continue;
    const continues = /\\\s*$/.test(raw);
    const content = continues ? raw.replace(/\\\s*$/, '') : raw;
    if (current === undefined) current = { parts: [], line: i + 1 };
    current.parts.push(content.trim());
    if (!continues) {
      const joined = current.parts.filter((p) => p !== '').join(' ');
      const match = /^(\S+)\s*(.*)$/s.exec(joined);
      if (match) instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: current.line });
      current = undefined;
    }
  }

  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({
        index: stages.length,
        name: asIndex >= 0 ? words[asIndex + 1]?.toLowerCase() : undefined,
        from: words[0],
        instructions: [],
      });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

/** The stage a FROM or COPY --from refers to, when it is a stage of this file (by name or index). */
export function findStage(stages: Stage[], reference: string): Stage | undefined {
  const ref = reference.toLowerCase();
  return stages.find((s) => s.name === ref || String(s.index) === ref);
}

/** The stage and its ancestors (FROM an earlier stage), the stage itself first. */
export function stageChain(stages: Stage[], stage: Stage): Stage[] {
  const chain = [stage];
  let parent = findStage(stages, stage.from);
  while (parent && !chain.includes(parent)) {
    chain.push(parent);
    parent = findStage(stages, parent.from);
  }
  return chain;
}

/** The external image a stage is ultimately built on (the FROM of the first stage in its chain). */
export function baseImage(stages: Stage[], stage: Stage): string {
  const chain = stageChain(stages, stage);
  return chain[chain.length - 1].from;
}

/** The `--from=` value of a COPY/ADD, if any. */
export function copyFrom(instruction: Instruction): string | undefined {
  return /--from=(\S+)/.exec(instruction.args)?.[1];
}

/** The exec-form JSON array of CMD / ENTRYPOINT / HEALTHCHECK ... CMD, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  const json = /(\[.*\])\s*$/s.exec(args)?.[1];
  if (!json) return undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Shell commands of a RUN split at `&&`, `;` and `||`, to look at each npm invocation on its own. */
export function shellCommands(runArgs: string): string[] {
  const exec = execForm(runArgs);
  const text = exec ? exec.join(' ') : runArgs;
  return text
    .split(/&&|\|\||;/)
    .map((c) => c.trim())
    .filter((c) => c !== '');
}

/** True when an npm command installs packages (ci, install, i, add). */
export function isNpmInstall(command: string): boolean {
  return /(^|\s)npm\s+(ci|install|i|add)(\s|$)/.test(command);
}

/** True when an npm install command leaves the dev dependencies out. */
export function omitsDev(command: string, env: Record<string, string>): boolean {
  if (/--omit[= ]dev\b/.test(command) || /--production\b/.test(command) || /--only[= ]prod(uction)?\b/.test(command)) {
    return true;
  }
  if (/--include[= ]dev\b/.test(command)) return false;
  return env.NODE_ENV === 'production' || /\bNODE_ENV=production\b/.test(command);
}

/** ENV values set in the given stages (ancestors first), `ENV A=b C=d` and legacy `ENV A b` forms. */
export function stageEnv(chain: Stage[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const stage of [...chain].reverse()) {
    for (const instruction of stage.instructions.filter((i) => i.keyword === 'ENV')) {
      const pairs = [...instruction.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S+)/g)];
      if (pairs.length > 0) {
        for (const [, key, value] of pairs) env[key] = value.replace(/^["']|["']$/g, '');
      } else {
        const legacy = /^(\S+)\s+(.*)$/.exec(instruction.args);
        if (legacy) env[legacy[1]] = legacy[2];
      }
    }
  }
  return env;
}
