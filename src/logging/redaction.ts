/**
 * SQL and driver messages without the values they carry. MikroORM writes a statement's parameters into its
 * SQL text before sending it (`insert ... values ('usr_kenya_001', 'amina@example.com', ...)`), knex puts
 * that SQL in front of the message of a failed statement, and some PostgreSQL messages quote the input they
 * refused (`invalid input syntax for type uuid: "..."`). What a log keeps is the statement's shape.
 */

export const REDACTED = '[redacted]';

const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_$]/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * `sql` with every literal replaced by `?`: quoted strings (`'...'`, `E'...'`, `$$...$$`) and numbers.
 * Identifiers (`"loans"`, `t0`), keywords, placeholders (`$1`) and casts (`::uuid`) stay, so the statement
 * is still recognisable. Unterminated quotes hide the rest of the text.
 */
export function sqlWithoutValues(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const previous = i > 0 ? sql[i - 1] : undefined;
    if (c === '"') {
      // A quoted identifier: kept as written ("" is an escaped quote).
      let j = i + 1;
      while (j < sql.length && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'" && !isWordChar(previous))) {
      const escapes = c !== "'";
      let j = escapes ? i + 2 : i + 1;
      while (j < sql.length) {
        if (escapes && sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      out += '?';
      i = j + 1;
    } else if (c === '$' && !isWordChar(previous) && /^\$[A-Za-z_]*\$/.test(sql.slice(i, i + 64))) {
      // A dollar-quoted string ($$...$$ or $tag$...$tag$); `$1` placeholders do not match.
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64))![0];
      const end = sql.indexOf(tag, i + tag.length);
      out += '?';
      i = end === -1 ? sql.length : end + tag.length;
    } else if (isDigit(c) && !isWordChar(previous) && previous !== '.') {
      const number = /^\d+(\.\d*)?([eE][+-]?\d+)?/.exec(sql.slice(i))![0];
      out += '?';
      i += number.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * PostgreSQL messages that quote the refused input: `invalid input syntax for type uuid: "..."`,
 * `date/time field value out of range: "..."`, `value "..." is out of range for type integer`,
 * `invalid byte sequence for encoding "UTF8": 0x00`... (data exceptions, SQLSTATE class 22).
 */
const QUOTED_INPUT = [
  /\bvalue "(?:[^"]|"")*"/g,
  // `...: "input"` (types, enums, date/time fields, parameters) and `...: 0xe9 0x41` (bytes).
  /(: )"(?:[^"]|"")*"/g,
  /(encoding "[^"]*": )(0x[0-9a-f]{2}\s?)+/gi,
];

export function withoutQuotedInput(message: string): string {
  return message
    .replace(QUOTED_INPUT[0], `value ${REDACTED}`)
    .replace(QUOTED_INPUT[1], `$1${REDACTED}`)
    .replace(QUOTED_INPUT[2], `$1${REDACTED}`);
}

/**
 * Where a statement starts: at the start of a line or after `: `, past error names (`DriverException: `,
 * pg's `error: `) and pino's `caused by: `. That is how knex (`<sql> - <message>`), MikroORM and pino
 * (`<message>: <cause's message>`) present a failed statement.
 */
const SQL_START =
  /(?:^|: )(?:caused by: )?(?:[\w.]+: )*(?=(?:select|insert|update|delete|with|begin|commit|rollback|set|savepoint|release|lock|create|alter|drop|truncate)\b)/i;

/**
 * A log text (an error's message or stack) without values: stack frames (`    at ...`) are kept as they are;
 * other lines lose quoted input; a statement (from where it starts to the next stack frame) loses its
 * literals.
 */
export function textWithoutValues(text: string): string {
  let inStatement = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s+at /.test(line)) {
        inStatement = false;
        return line;
      }
      const withoutInput = withoutQuotedInput(line);
      if (inStatement) return sqlWithoutValues(withoutInput);
      const start = SQL_START.exec(withoutInput);
      if (!start) return withoutInput;
      inStatement = true;
      const at = start.index + start[0].length;
      return withoutInput.slice(0, at) + sqlWithoutValues(withoutInput.slice(at));
    })
    .join('\n');
}
