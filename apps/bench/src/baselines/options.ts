/** A bad option of an `*Init` or a bad command-line flag. Here, not in errors.ts, so that
 *  main.ts can parse its flags before loading @roomring/server (~5 s of imports under tsx). */
export class BaselineConfigError extends Error {
  override readonly name = 'BaselineConfigError';
}

/** `value` (or `fallback` when undefined) as an integer in [min, max], else BaselineConfigError. */
export function intOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new BaselineConfigError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}
