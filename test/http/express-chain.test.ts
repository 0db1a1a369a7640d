import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { expressChainFastPath } from '../../src/http/fast-path';

/**
 * `expressChainFastPath` against express's own router, on a small app of the gateway's shape (app-level handlers, a
 * list mounted at the path, a not-found handler, an error handler): for every way a handler can end (answer, throw,
 * `next(error)`, a rejected promise with or without a reason, `next('route')`, `next('router')`, `next()` past the
 * end, an error after the answer began, the error handler passing an error on), the same answer, and the same
 * request properties seen by every handler (`url`, `path`, `baseUrl`, `originalUrl`, `params`, `next`, `ip`).
 */
describe('expressChainFastPath behaves as express for its request line', () => {
  type Seen = Record<string, unknown>;
  const look =
    (name: string): RequestHandler =>
    (req, res, next) => {
      const seen = ((res.locals.seen as Seen[] | undefined) ??= []);
      seen.push({
        name,
        url: req.url,
        path: req.path,
        baseUrl: req.baseUrl,
        originalUrl: req.originalUrl,
        params: { ...req.params },
        paramsPrototype: Object.getPrototypeOf(req.params) === null ? 'none' : 'Object',
        next: typeof req.next,
        ip: req.ip,
        query: req.query,
        app: req.app === app,
      });
      next();
    };
  /** What the mounted handler does, as the request's `x-act` header says. */
  const act: RequestHandler = (req, res, next) => {
    switch (req.get('x-act')) {
      case 'answer':
        res.json({ seen: res.locals.seen });
        return;
      case 'throw':
        throw new Error('thrown');
      case 'next-error':
        next(new Error('passed'));
        return;
      case 'reject':
        return Promise.reject(new Error('rejected'));
      case 'reject-falsy':
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the router makes an Error of
        return Promise.reject(0);
      case 'route':
        next('route');
        return;
      case 'router':
        next('router');
        return;
      case 'late-error':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('begun');
        next(new Error('late'));
        return;
      default:
        next();
    }
  };
  const notFound: RequestHandler = (req, res) => {
    res.status(404).json({ notFound: true, seen: res.locals.seen, url: req.url, baseUrl: req.baseUrl });
  };
  const onError: ErrorRequestHandler = (error: Error, req, res, next) => {
    if (res.headersSent || req.get('x-pass') === 'yes') {
      next(error);
      return;
    }
    res.status(500).json({ error: error.message, seen: res.locals.seen, url: req.url, baseUrl: req.baseUrl });
  };

  const app = express();
  app.set('trust proxy', 'loopback');
  // As deployed: the final handler answers without the error's stack, and prints what reaches it.
  app.set('env', 'production');
  const first = [look('first'), look('second')];
  const mounted = [look('mounted'), act, look('after')];
  app.use(first);
  app.use('/graphql', mounted);
  app.use(notFound);
  app.use(onError);
  /** The chain's request line and handlers, as the app above has them. */
  const chain = { method: 'POST', path: '/graphql', before: first, mounted, notFound, onError };
  const fast = expressChainFastPath({ app, ...chain });
  let taken = 0;
  const plain = http.createServer(app);
  const chained = http.createServer((req, res) => {
    if (fast(req, res)) taken++;
    else app(req, res);
  });
  afterAll(() => {
    plain.close();
    chained.close();
  });

  /** Status, headers (but the date) and body; or how the connection ended when it did without an answer. */
  async function outcome(server: http.Server, headers: Record<string, string>, path = '/graphql') {
    try {
      const res = await request(server).post(path).set(headers).send({});
      const { date: _date, ...rest } = res.headers as Record<string, string>;
      return { status: res.status, headers: rest, body: res.text };
    } catch (error) {
      return { failed: (error as Error).message };
    }
  }

  test.each([
    ['an answer', { 'x-act': 'answer' }],
    ['a throw', { 'x-act': 'throw' }],
    ['next(error)', { 'x-act': 'next-error' }],
    ['a rejected promise', { 'x-act': 'reject' }],
    ['a promise rejected without a reason', { 'x-act': 'reject-falsy' }],
    ["next('route'): no error, the next handler", { 'x-act': 'route' }],
    ["next('router'): the final handler's 404", { 'x-act': 'router' }],
    ['next() past the mount: not found', {}],
    ['an error passed on by the error handler: the final handler', { 'x-act': 'throw', 'x-pass': 'yes' }],
    ['an error after the answer began: the connection ends', { 'x-act': 'late-error' }],
    ['behind a trusted proxy', { 'x-act': 'answer', 'x-forwarded-for': '203.0.113.7' }],
  ])('%s', async (_name, headers) => {
    const before = taken;
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      // The final handler prints on a later turn than its answer (finalhandler defers its onerror).
      const settled = () => new Promise((resolve) => setTimeout(resolve, 20));
      const viaRouter = await outcome(plain, headers);
      await settled();
      const printedByRouter = printed.mock.calls.splice(0);
      const viaChain = await outcome(chained, headers);
      await settled();
      expect(taken).toBe(before + 1);
      expect(viaChain).toEqual(viaRouter);
      // What reached express's final handler is printed the same way.
      expect(printed.mock.calls).toEqual(printedByRouter);
    } finally {
      printed.mockRestore();
    }
  });

  test('the handlers see the mount as express shows it', async () => {
    const res = await request(chained).post('/graphql').set('x-act', 'answer').send({});
    const common = { originalUrl: '/graphql', next: 'function', ip: '127.0.0.1', query: {}, app: true };
    const atApp = { url: '/graphql', path: '/graphql', baseUrl: '', params: {}, paramsPrototype: 'Object', ...common };
    expect(res.body.seen).toEqual([
      { name: 'first', ...atApp },
      { name: 'second', ...atApp },
      { name: 'mounted', url: '/', path: '/', baseUrl: '/graphql', params: {}, paramsPrototype: 'none', ...common },
    ]);
  });

  test("the handlers given must be the app's layers for the request line: a middleware left out is an error at start", () => {
    const other = express();
    const extra: RequestHandler = (_req, _res, next) => next();
    other.use(first);
    other.use(extra);
    other.use('/graphql', mounted);
    other.use(notFound);
    other.use(onError);
    const build = () => expressChainFastPath({ app: other, ...chain });
    expect(build).toThrow(/are not the handlers given/);
    // A route for the path is refused too (the router would run it for POST).
    const routed = express();
    routed.use(first);
    routed.post('/graphql', (_req, res) => res.end());
    routed.use('/graphql', mounted);
    routed.use(notFound);
    routed.use(onError);
    expect(() => expressChainFastPath({ app: routed, ...chain })).toThrow(/one a route/);
  });

  test('any other request line goes to express', async () => {
    const before = taken;
    for (const path of ['/graphql?x=1', '/graphql/', '/GRAPHQL', '/other']) {
      expect(await outcome(chained, { 'x-act': 'answer' }, path)).toEqual(
        await outcome(plain, { 'x-act': 'answer' }, path),
      );
    }
    await request(chained).get('/graphql').set('x-act', 'answer');
    expect(taken).toBe(before);
  });

  test('with a subscriber to the router tracing channel (an APM), express serves it, its layers publishing', async () => {
    const channel = diagnostics.tracingChannel('express.router.request');
    const published: unknown[] = [];
    const subscribers = {
      start: (message: unknown) => published.push(message),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: () => undefined,
      error: () => undefined,
    };
    channel.subscribe(subscribers);
    try {
      const before = taken;
      const res = await request(chained).post('/graphql').set('x-act', 'answer').send({});
      expect(res.status).toBe(200);
      expect(taken).toBe(before);
      expect(published.length).toBeGreaterThan(0);
    } finally {
      channel.unsubscribe(subscribers);
    }
  });
});
