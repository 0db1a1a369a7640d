import fs from 'node:fs';
import path from 'node:path';
import { imageNodeVersion, pickRelease } from '../../scripts/bench-node';

/** Which Node release the bench's servers run on (scripts/bench-node.ts); the registry download is not tested. */
describe('bench node', () => {
  it("reads the image's Node release from the real Dockerfile's last FROM node: line", () => {
    const dockerfile = fs.readFileSync(path.join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
    const last = [...dockerfile.matchAll(/^FROM\s+node:(\d+\.\d+\.\d+)/gm)].at(-1)?.[1];
    expect(last).toMatch(/^\d+\.\d+\.\d+$/);
    expect(imageNodeVersion(dockerfile)).toBe(last);
  });

  it('takes the LAST FROM node: line, and throws without one or without a x.y.z tag', () => {
    expect(
      imageNodeVersion('FROM node:24.1.0-slim AS build\nRUN true\nFROM node:26.13.0-trixie-slim AS runtime\n'),
    ).toBe('26.13.0');
    expect(() => imageNodeVersion('FROM debian:trixie-slim\nCMD ["node", "main.js"]\n')).toThrow(/no `FROM node:/);
    expect(() => imageNodeVersion('FROM node:26.13.0 AS build\nFROM node:lts-slim\n')).toThrow(/x\.y\.z/);
  });

  it('picks the newest published release of the same major, not newer than the image', () => {
    const published = ['26.9.0', '26.12.1', '26.10.0', '27.0.0', '25.9.0'];
    expect(pickRelease('26.13.0', published)).toBe('26.12.1');
    // numeric, not string, comparison
    expect(pickRelease('26.10.0', published)).toBe('26.10.0');
    expect(pickRelease('26.9.5', published)).toBe('26.9.0');
    expect(pickRelease('26.10.0', ['26.9.0'])).toBe('26.9.0');
  });

  it('ignores prereleases and other majors, and gives null when nothing fits', () => {
    expect(pickRelease('26.13.0', ['26.0.0-rc.1', '26.13.0-nightly', '26.1.0'])).toBe('26.1.0');
    expect(pickRelease('26.13.0', ['26.0.0-rc.1'])).toBeNull();
    expect(pickRelease('26.13.0', ['25.9.0', '27.0.0', '27.1.0'])).toBeNull();
    expect(pickRelease('26.13.0', ['26.13.1', '26.14.0'])).toBeNull();
    expect(pickRelease('26.13.0', [])).toBeNull();
  });
});
