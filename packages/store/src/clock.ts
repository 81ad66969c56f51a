/**
 * What the store takes from the world: wall time and randomness, injected so the store stays
 * a pure state machine (DESIGN.md section 3). The node passes real adapters; the simulator
 * and the tests pass virtual ones.
 */

/** Wall-clock time in unix milliseconds. */
export interface Clock {
  nowMs(): number;
}

/** A source of uniform randomness. */
export interface Random {
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
}
