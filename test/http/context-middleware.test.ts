import type { NextFunction, Request, Response } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { LoginThrottler } from '../../src/auth/login-throttle';
import type { TokenService } from '../../src/auth/tokens';
import { ANONYMOUS } from '../../src/auth/viewer';
import * as requestContextModule from '../../src/context/request-context';
import { createRequestContext } from '../../src/context/request-context';
import { contextMiddleware, requestContext } from '../../src/http/context-middleware';
import type { Logger } from '../../src/logging/logger';

/**
 * The request context's logger is the request's own (pino-http's `req.log`), made only when something logs, and
 * handed over as a function rather than a getter in an object literal (a getter per request is a hidden class per
 * request: docs/profiling.md "Seventh round"; the lint rule `no-restricted-syntax` forbids it in src/).
 */

const orm = {} as MikroORM;
const tokens = {} as TokenService;
const throttle = {} as LoginThrottler;

test("the middleware's context reads req.log only when its logger is first used, each time afresh", () => {
  let reads = 0;
  const first = { name: 'first' } as unknown as Logger;
  const req = {
    id: 'req-1',
    ip: '10.0.0.1',
    get log() {
      reads += 1;
      return first;
    },
  } as unknown as Request;
  const res = { locals: { viewer: ANONYMOUS } } as unknown as Response;
  const next = jest.fn() as NextFunction;
  const create = jest.spyOn(requestContextModule, 'createRequestContext');
  contextMiddleware(orm, tokens, undefined, throttle)(req, res, next);
  expect(next).toHaveBeenCalledTimes(1);
  // Handed over as a plain function-valued property: no accessor in the literal (one hidden class for all requests).
  const input = create.mock.calls[0][2];
  const logger = Object.getOwnPropertyDescriptor(input, 'logger');
  expect(logger?.get).toBeUndefined();
  expect(typeof logger?.value).toBe('function');
  create.mockRestore();
  const context = requestContext(res);
  expect(context.requestId).toBe('req-1');
  expect(reads).toBe(0);
  expect(context.logger).toBe(first);
  expect(reads).toBe(1);
  expect(context.logger).toBe(first);
  expect(reads).toBe(2);
});

test('createRequestContext takes a logger as it is too (the WebSocket subscriptions pass one)', () => {
  const logger = { name: 'ws' } as unknown as Logger;
  const context = createRequestContext(orm, tokens, { requestId: 'ws-1', logger, loginThrottle: throttle });
  expect(context.logger).toBe(logger);
  expect(context.viewer).toBe(ANONYMOUS);
});
