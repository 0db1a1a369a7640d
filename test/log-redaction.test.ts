import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config/config';
import { serializeError } from '../src/logging/error-serializer';
import { createLogger } from '../src/logging/logger';
import { sqlWithoutValues, textWithoutValues, withoutQuotedInput } from '../src/logging/redaction';
import { Role } from '../src/users/role';
import { TEST_ADMIN, TEST_JWT_SECRET, tokenFor } from './support/auth';
import { createTestDatabase, type TestDatabase } from './support/database';

/**
 * Logs never hold the values of SQL statements (borrower ids, emails, amounts), in production, at any
 * level. MikroORM writes a statement's parameters into its SQL text, knex puts that SQL in front of a
 * failed statement's message, and PostgreSQL quotes refused input in some messages: database errors are
 * provoked here (the schema broken under the running app) with recognisable values, on REST and GraphQL,
 * and every line the app logs is searched for them.
 */

const CANARY_BORROWER = 'usr_canary_7f3e91';
const CANARY_EMAIL = 'canary.7f3e91@example.com';
const CANARY_AMOUNT = '4242.17';
const CANARIES = [CANARY_BORROWER, CANARY_EMAIL, CANARY_AMOUNT, 'canary', '7f3e91'];

describe('logs hold no bound SQL values', () => {
  let db: TestDatabase;
  let app: App;
  let token: string;
  const lines: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    // Production, at the lowest level: SQL statements are logged too (at debug), without their values.
    const config = loadConfig({
      APP_ENV: 'production',
      DATABASE_URL: db.url,
      LOG_LEVEL: 'trace',
      JWT_SECRET: TEST_JWT_SECRET,
    });
    app = await createApp(config, { logger: pino({ level: 'trace' }, sink) });
    token = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
    // The borrower exists (REST registers an unknown borrower on first use) before anything breaks.
    await request(app.httpServer)
      .post('/api/loans')
      .send({ borrower_id: CANARY_BORROWER, amount: 100, currency: 'KES' })
      .expect(201);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  const sql = (statement: string) => app.orm.em.getConnection().execute(statement);
  const graphql = (query: string, variables: Record<string, unknown>, auth = true) =>
    request(app.httpServer)
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .set(auth ? { Authorization: `Bearer ${token}` } : {})
      .send({ query, variables });

  function expectNoCanary(): void {
    const leaking = lines.filter((line) => CANARIES.some((canary) => line.includes(canary)));
    expect(leaking).toEqual([]);
  }

  /** The error lines of the requests, each with the failed statement's SQL, values replaced by `?`. */
  function errorLines(): { msg: string; err: { message: string; stack: string } }[] {
    return lines
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string; stack: string } })
      .filter((line) => line.level >= 40 && line.err && !/failed with status code/.test(line.err.message))
      .map((line) => ({ msg: line.msg, err: line.err! }));
  }

  test('a failed statement on REST and GraphQL: logged with its SQL, without the values', async () => {
    await sql('alter table loans rename column amount to amount_x');
    await sql('alter table users rename column last_name to last_name_x');
    lines.length = 0;
    try {
      const rest = await request(app.httpServer)
        .post('/api/loans')
        .send({ borrower_id: CANARY_BORROWER, amount: Number(CANARY_AMOUNT), currency: 'KES', term_months: 7 });
      expect(rest.status).toBe(500);
      expect(rest.body.error.code).toBe('INTERNAL_SERVER_ERROR');

      const created = await graphql(
        `
          mutation ($input: CreateLoanInput!) {
            createLoan(input: $input) {
              loan {
                id
              }
              userErrors {
                code
              }
            }
          }
        `,
        { input: { borrowerId: CANARY_BORROWER, amount: { amount: CANARY_AMOUNT, currencyCode: 'KES' } } },
      );
      expect(created.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');

      const listed = await graphql(
        `
          query ($id: ID!) {
            loans(filter: { borrowerId: $id }) {
              totalCount
              edges {
                node {
                  id
                  amount {
                    amount
                  }
                }
              }
            }
          }
        `,
        {
          id: CANARY_BORROWER,
        },
      );
      expect(listed.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');

      const signedUp = await graphql(
        `
          mutation ($input: SignUpInput!) {
            signUp(input: $input) {
              token
              userErrors {
                code
              }
            }
          }
        `,
        { input: { email: CANARY_EMAIL, password: 'canary-password-7f3e91', firstName: 'Canary', lastName: 'Bird' } },
        false,
      );
      expect(signedUp.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await sql('alter table loans rename column amount_x to amount');
      await sql('alter table users rename column last_name_x to last_name');
    }
    expectNoCanary();
    // The errors were logged, each with the shape of its statement: something to debug with.
    const errors = errorLines();
    expect(errors.length).toBeGreaterThanOrEqual(4);
    expect(errors.map((e) => e.err.message).join('\n')).toMatch(/insert into "loans" .*values \(.*\?.*\)/);
    expect(errors.map((e) => e.err.message).join('\n')).toMatch(/amount|last_name/);
  });

  test('PostgreSQL quoting the refused input (invalid input syntax): the quote is redacted', async () => {
    // Loans now take a uuid as borrower: the borrower id is refused by PostgreSQL itself, which quotes it.
    await sql(
      `do $$ declare c record; begin
         for c in select conname from pg_constraint where conrelid = 'loans'::regclass and contype = 'f' loop
           execute format('alter table loans drop constraint %I cascade', c.conname);
         end loop;
       end $$`,
    );
    await sql('alter table loans alter column borrower_id type uuid using gen_random_uuid()');
    lines.length = 0;
    const rest = await request(app.httpServer)
      .post('/api/loans')
      .send({ borrower_id: CANARY_BORROWER, amount: 12, currency: 'KES' });
    expect(rest.status).toBe(500);
    const graphqlAnswer = await graphql(
      `
        query ($id: ID!) {
          loans(filter: { borrowerId: $id }) {
            totalCount
          }
        }
      `,
      {
        id: CANARY_BORROWER,
      },
    );
    expect(graphqlAnswer.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expectNoCanary();
    const messages = errorLines()
      .map((e) => e.err.message)
      .join('\n');
    expect(messages).toContain('invalid input syntax for type uuid: [redacted]');
  });

  test('the production logger has the same error serializer', () => {
    const logger = createLogger({ appEnv: 'production', logLevel: 'info' });
    const serializers = (logger as unknown as Record<symbol, Record<string, unknown>>)[pino.symbols.serializersSym];
    expect(serializers.err).toBe(serializeError);
  });
});

describe('redaction', () => {
  test('SQL keeps identifiers, placeholders and casts; loses every literal', () => {
    expect(
      sqlWithoutValues(
        `insert into "users" ("id", "email", "n1") values ('usr_x', 'o''brien@x.com', 4242.17), (E'a\\'b', -3, $1::uuid) returning "id"`,
      ),
    ).toBe(`insert into "users" ("id", "email", "n1") values (?, ?, ?), (?, -?, $1::uuid) returning "id"`);
    expect(sqlWithoutValues(`select t0.c2 from "t""x" as t0 where x = $$dollar 'quoted'$$ limit 20`)).toBe(
      `select t0.c2 from "t""x" as t0 where x = ? limit ?`,
    );
  });

  test('PostgreSQL messages lose the input they quote, and keep the names they quote', () => {
    expect(withoutQuotedInput('invalid input syntax for type uuid: "usr_x"')).toBe(
      'invalid input syntax for type uuid: [redacted]',
    );
    expect(withoutQuotedInput('value "99999999999" is out of range for type integer')).toBe(
      'value [redacted] is out of range for type integer',
    );
    expect(withoutQuotedInput('invalid byte sequence for encoding "UTF8": 0xe9 0x41')).toBe(
      'invalid byte sequence for encoding "UTF8": [redacted]',
    );
    expect(withoutQuotedInput('column "created_at_x" of relation "loans" does not exist')).toBe(
      'column "created_at_x" of relation "loans" does not exist',
    );
  });

  test('a logged text: statements lose their literals, stack frames and prose stay', () => {
    const text = [
      `The service is temporarily unavailable, please retry: select * from "users" where "email" = 'a@b.c' - Query read timeout`,
      '    at Foo.bar (/srv/app/x.js:10:20)',
      `Cannot read properties of undefined (reading 'id') at row 3`,
    ].join('\n');
    expect(textWithoutValues(text)).toBe(
      [
        `The service is temporarily unavailable, please retry: select * from "users" where "email" = ? - Query read timeout`,
        '    at Foo.bar (/srv/app/x.js:10:20)',
        `Cannot read properties of undefined (reading 'id') at row 3`,
      ].join('\n'),
    );
  });

  test('serialized errors lose value fields (detail, where) and keep names (code, constraint, table)', () => {
    const error = Object.assign(new Error(`insert into "users" ("email") values ('a@b.c') - duplicate key`), {
      code: '23505',
      detail: 'Key (email)=(a@b.c) already exists.',
      where: 'SQL statement "..."',
      constraint: 'users_email_unique',
      table: 'users',
    });
    const wrapper = Object.assign(new Error('Internal server error'), { originalError: error });
    const serialized = JSON.stringify(serializeError(wrapper));
    expect(serialized).not.toContain('a@b.c');
    expect(serialized).toContain('users_email_unique');
    expect(serialized).toContain('23505');
    expect(serialized).toContain('values (?)');
  });
});
