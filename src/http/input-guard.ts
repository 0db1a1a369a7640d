import type { RequestHandler } from 'express';
import { UserErrorCode, ValidationError, type FieldProblem } from '../common/errors';
import { findTextProblems, formatPath, type TextProblem } from '../common/input-rules';

const toFieldProblem = (problem: TextProblem): FieldProblem => ({
  field: problem.path.length > 0 ? formatPath(problem.path) : null,
  code: UserErrorCode.INVALID,
  message: problem.message,
});

/**
 * The REST side of the input rules (`common/input-rules.ts`), in one place for every route: a parsed
 * JSON body or a query string holding U+0000 or a lone surrogate, anywhere, is a 400 VALIDATION_FAILED
 * naming each field, before any handler (and so any SQL) runs. Ignored fields are checked too: such a
 * body is not text PostgreSQL can hold, and one rule is easier to reason about than a list of fields.
 * Path parameters are checked by their handlers (a loan id must be a UUID).
 */
export const refuseMalformedText: RequestHandler = (req, _res, next) => {
  const problems = [...findTextProblems(req.body), ...findTextProblems(req.query)].map(toFieldProblem);
  if (problems.length > 0) throw new ValidationError(problems);
  next();
};
