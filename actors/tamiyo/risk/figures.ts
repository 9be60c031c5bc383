/** A number for a finding's detail: four significant digits, the same text for the same value. */
export function figure(x: number): string {
  return String(Number(x.toPrecision(4)));
}
