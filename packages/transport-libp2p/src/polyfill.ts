/**
 * `Promise.withResolvers` for Node.js 20 (PLATFORM.md, "libp2p on Node 20"): libp2p 3 and its
 * helpers call it, and Node 20 does not have it (it arrived in Node 22), so without this the
 * process crashes at the first dial or stream read.
 *
 * This module imports nothing, so that an entry point can load it before anything that loads
 * libp2p. `src/index.ts` imports it first; every program that uses libp2p must import
 * `@roomring/transport-libp2p` (or this file) before any other module that imports libp2p.
 */

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

type WithResolvers = <T>() => Resolvers<T>;

/** Installs `Promise.withResolvers` when the runtime lacks it. Idempotent; returns whether it
 *  had to install it. */
export function installPromiseWithResolvers(): boolean {
  const ctor = Promise as unknown as { withResolvers?: WithResolvers };
  if (typeof ctor.withResolvers === 'function') return false;
  const withResolvers = function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
    let resolve!: Resolvers<T>['resolve'];
    let reject!: Resolvers<T>['reject'];
    // `this` keeps subclass semantics (`MyPromise.withResolvers()`), as the spec does.
    const promise = new (this ?? Promise)<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
  Object.defineProperty(Promise, 'withResolvers', {
    value: withResolvers,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return true;
}

installPromiseWithResolvers();
