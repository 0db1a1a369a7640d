import type { RequestHandler } from 'express';

/** `; charset=utf8` (any case, optionally quoted), a parameter of the Content-Type header. */
const UTF8_WITHOUT_HYPHEN = /(;\s*charset\s*=\s*)("?)utf8\2(?=\s*(;|$))/i;

/**
 * `Content-Type: application/json; charset=utf8` is a common client spelling of UTF-8 (and the name Node
 * itself uses), but express' JSON parser (body-parser) accepts only charsets that start with `utf-` and
 * answers 415. Renamed to `utf-8` before the parser runs, for REST and /graphql alike (Apollo reads the
 * parsed body of a POST and checks only the media type of a GET, never the charset). `UTF-8` already works.
 */
export const acceptUtf8Alias: RequestHandler = (req, _res, next) => {
  const contentType = req.headers['content-type'];
  if (contentType && UTF8_WITHOUT_HYPHEN.test(contentType)) {
    req.headers['content-type'] = contentType.replace(UTF8_WITHOUT_HYPHEN, '$1$2utf-8$2');
  }
  next();
};
